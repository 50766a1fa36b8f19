import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Kms } from '@vc/integrations/kms';
import { extract } from 'tar';
import { verifyPack, type PackVerdict, type VerifyOptions } from './manifest';

/** Whether `path` names a pack's archive (`evidence --out DIR` writes `DIR.tar.gz`). */
export const isPackArchive = (path: string): boolean => /\.(?:tar\.gz|tgz)$/i.test(path);

/**
 * What an archive may unpack to, at most: a pack is reports, tallies and ledger rows (megabytes for a large
 * tenant), so far below this; a gzip bomb, or an archive padded with what the pack never holds, is not
 * unpacked past it onto the auditor's disk.
 */
export const MAX_UNPACKED_BYTES = 2 * 1024 ** 3;
const MAX_ENTRIES = 10_000;

/** The entry types the pack's archive is made of: its folder and its files. */
const PACK_ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** Why an archive entry is no part of a pack, or `undefined`: checked on the raw path, before tar sanitises it. */
function entryProblem(path: string, type: string | undefined): Pick<Extract<PackVerdict, { status: 'tampered' }>, 'problem' | 'message'> | undefined {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.split(/[\\/]/).includes('..'))
    return { problem: 'unlisted', message: `${path} in the archive points outside the pack folder (an absolute path or '..'): not extracted` };
  if (type !== undefined && !PACK_ENTRY_TYPES.has(type))
    return { problem: 'not_a_file', message: `${path} in the archive is a ${type}, not a file: a pack's archive holds its folder and files only` };
  return undefined;
}

/**
 * Checks the `.tar.gz` a pack is handed over as: it is unpacked into a private temporary folder (removed
 * afterwards), refusing what the pack's writer never puts in one — links, devices, fifos, absolute paths,
 * `..` — then the one folder it holds is checked as {@link verifyPack} checks a pack folder. An archive
 * that does not unpack, or holds anything beside that folder, is tampered (or damaged): it is not the
 * archive the pack was written as.
 */
export async function verifyPackArchive(
  archive: string,
  kms?: () => Promise<Kms>,
  options: VerifyOptions & { maxUnpackedBytes?: number } = {},
): Promise<PackVerdict> {
  const name = basename(archive);
  const cap = options.maxUnpackedBytes ?? MAX_UNPACKED_BYTES;
  const unpacked = { bytes: 0, entries: 0 };
  const work = await mkdtemp(join(tmpdir(), 'vc-evidence-verify-'));
  try {
    let refused: PackVerdict | undefined;
    try {
      await extract({
        file: archive,
        cwd: work,
        strict: true,
        preserveOwner: false,
        filter: (path, entry) => {
          const problem = entryProblem(path, 'type' in entry ? entry.type : undefined);
          if (problem) refused ??= { status: 'tampered', file: path, ...problem };
          unpacked.bytes += entry.size ?? 0;
          unpacked.entries += 1;
          const tooLarge = unpacked.bytes > cap || unpacked.entries > MAX_ENTRIES;
          if (tooLarge)
            refused ??= {
              status: 'tampered',
              file: name,
              problem: 'archive_unreadable',
              message: `${name} would unpack to more than ${cap} bytes or ${MAX_ENTRIES} entries, far beyond any pack: not unpacked further`,
            };
          return problem === undefined && !tooLarge;
        },
      });
    } catch (error) {
      return {
        status: 'tampered',
        file: name,
        problem: 'archive_unreadable',
        message: `${name} cannot be unpacked as a gzip tar archive (${(error as Error).message}): damaged, or not the archive the pack was written as`,
      };
    }
    if (refused) return refused;
    const top = (await readdir(work, { withFileTypes: true })).sort((a, b) => Number(b.isDirectory()) - Number(a.isDirectory()));
    const [folder, extra] = top;
    if (!folder?.isDirectory())
      return { status: 'tampered', file: name, problem: 'archive_unreadable', message: `${name} holds no pack folder: not the archive a pack was written as` };
    if (extra)
      return {
        status: 'tampered',
        file: extra.name,
        problem: 'unlisted',
        message: `${extra.name} is in ${name} beside the pack folder ${folder.name} (added after the pack was written)`,
      };
    return await verifyPack(join(work, folder.name), kms, options);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
