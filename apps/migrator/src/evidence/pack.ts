import { link, lstat, mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DatabaseHandle } from '@vc/schema';
import type { Kms } from '@vc/integrations/kms';
import { kongSecretLeak, REDACTED } from '@vc/integrations/kong';
import { create as createTar } from 'tar';
import { UsageError } from '../engine/errors';
import { verifyChain } from '../ledger/chain';
import { toolCommit } from '../ledger/invocation';
import { unfinishedStarts } from '../ledger/runs';
import { readLedger } from '../ledger/store';
import { assertNoPhi, findPersonalData, writeValidationReports, type ValidationReport } from '../reports/index';
import type { TableFingerprint } from '../validate/fingerprints';
import { kmsKeys, kongSnapshots, rejectTally, warningTally } from './collect';
import { renderEvidenceHtml } from './html';
import { buildManifest, MANIFEST, SIGNATURE, signManifest } from './manifest';

export interface EvidenceInput {
  tenant: string;
  outDir: string;
  report: ValidationReport;
  /** The validation run's start and check timings, for the JUnit report. */
  junit?: Parameters<typeof writeValidationReports>[3];
  fingerprints: readonly TableFingerprint[];
  /** Signs MANIFEST.json when given. */
  signWith?: { kms: Kms; keyId?: string };
  /** `VC_BUILD_COMMIT`, when stamped. */
  buildCommit?: string;
  now?: Date;
  /** A stop request (SIGINT/SIGTERM/SIGHUP): the pack stops between files, and nothing of it is left behind. */
  signal?: AbortSignal;
}

/** `<outDir>.tar.gz`: the archive written beside the pack folder. */
export const archiveOf = (outDir: string): string => `${outDir.replace(/\/+$/, '')}.tar.gz`;

/**
 * Exit 2 unless `outDir` is absent or an empty folder, and `<outDir>.tar.gz` is absent: a pack is written
 * once, into a new folder, and the archive of an earlier pack (perhaps already handed over, its folder
 * since removed) is not replaced by another. Checked by the command before the validation runs (minutes on
 * a large tenant), and again here.
 */
export async function assertFreshOutDir(outDir: string): Promise<void> {
  const archive = archiveOf(outDir);
  if (await exists(archive))
    throw new UsageError(`${archive} exists (the archive of an earlier pack): an evidence pack is written once; move it away, or give another --out`);
  let entries: string[];
  try {
    if (!(await stat(outDir)).isDirectory()) throw new UsageError(`--out ${outDir} is a file: an evidence pack is written into a new (or empty) folder`);
    entries = await readdir(outDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (entries.length > 0) throw new UsageError(`--out ${outDir} is not empty: an evidence pack is written once, into a new (or empty) folder`);
}

/**
 * Moves `from` to `to` unless `to` exists: a hard link fails (EEXIST) where a rename would replace an archive
 * written since the check (another pack into the same --out). A file system without hard links gets the rename.
 */
async function placeWithoutReplacing(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${to} exists (written meanwhile by another run): an evidence pack is written once; give another --out`);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    await rename(from, to);
    return;
  }
  await unlink(from);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

// Gateway routing names upstream URLs, Kong's own entity UUIDs, route paths and long kebab-case names: none is PHI
// or a secret, yet the UUIDs and names are long enough to look like a key to the guard. They are let
// through in the Kong files, and only there. A URL stops at `@`: credentials or an address in one still tell.
const GATEWAY_TERMS = [
  /[a-z][a-z0-9+.-]*:\/\/[^\s"@]*/gi,
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  // route paths (`/api/v1/digital-communication/…`): a run of `/` and letters the key pattern would match
  /(?:\/[a-z0-9._~-]{1,40})+\/?/gi,
  /\b[a-z][a-z._-]{31,}\b/g,
];

// Text an operator typed reaches two kinds of file: ledger.json (flag values, gate overrides) and the Kong
// snapshots (a hand-edited route named after a patient, a tag with a phone number). Those must hold no
// phone number or name either (PERSONAL_DATA); in the other files headings and labels would match. Checked
// before the gateway terms are let through, so a path cannot hide them.
const OPERATOR_TEXT_FILES = new Set(['ledger.json']);

/**
 * The PHI guard over a text file of the pack: it refuses the whole file, naming it, never the value.
 * `gatewayConfig`: a Kong snapshot, whose URLs, UUIDs and route paths pass but which must hold no
 * phone number or name either, and no credential: plugin configs (a Redis password, an upstream
 * `Authorization` header) are written redacted, and one that is not refuses the file, however short;
 * nor may ledger.json hold a phone number or name.
 */
export function guardEvidenceFile(file: string, text: string, gatewayConfig = false): string {
  try {
    if (gatewayConfig) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error('it is not JSON');
      }
      const unredacted = kongSecretLeak(parsed);
      if (unredacted) throw new Error(`${unredacted} is not "${REDACTED}": plugin settings and credential-named fields may hold credentials`);
    }
    if (gatewayConfig || OPERATOR_TEXT_FILES.has(basename(file))) {
      const leak = findPersonalData(text);
      if (leak)
        throw new Error(
          `it holds what looks like ${leak}; ${gatewayConfig ? 'gateway snapshots carry routing only' : 'the ledger keeps free text as its digest only'}`,
        );
    }
    assertNoPhi(gatewayConfig ? GATEWAY_TERMS.reduce((t, term) => t.replace(term, 'gateway-term'), text) : text);
  } catch (error) {
    throw new Error(`evidence refused: ${file} would carry what looks like PHI or a secret (${(error as Error).message})`, { cause: error });
  }
  return text;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Writes the tenant's evidence folder (every file through the PHI guard), its MANIFEST.json (and
 * SIGNATURE.json when signing), then `<outDir>.tar.gz` of the folder. Returns both paths.
 */
export async function writeEvidencePack(
  handle: DatabaseHandle,
  input: EvidenceInput,
): Promise<{ dir: string; archive: string; files: number; signedBy?: string }> {
  const { outDir } = input;
  await assertFreshOutDir(outDir);
  await mkdir(dirname(outDir), { recursive: true });
  // Written beside the folder and renamed into place once complete: a pack that failed or was interrupted never
  // leaves a half-written --out folder that looks like one (nor a folder that would refuse the next attempt).
  const partial = `${outDir.replace(/\/+$/, '')}.partial-${process.pid}`;
  const archive = archiveOf(outDir);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial);
  try {
    const { files, signedBy } = await writePackFiles(handle, { ...input, outDir: partial });
    input.signal?.throwIfAborted();
    await rename(partial, outDir);
    await createTar({ gzip: true, file: `${archive}.partial-${process.pid}`, cwd: dirname(outDir), portable: true }, [basename(outDir)]);
    await placeWithoutReplacing(`${archive}.partial-${process.pid}`, archive);
    return { dir: outDir, archive, files, ...(signedBy ? { signedBy } : {}) };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    await rm(`${archive}.partial-${process.pid}`, { force: true });
    throw error;
  }
}

/**
 * Every file of the pack into `input.outDir` (the partial folder); returns how many the manifest and
 * signature make, and the key that signed (to be noted where the auditor gets it: `verify --expect-key`).
 */
async function writePackFiles(handle: DatabaseHandle, input: EvidenceInput): Promise<{ files: number; signedBy?: string }> {
  const { tenant, outDir } = input;
  const now = input.now ?? new Date();
  const write = async (file: string, text: string) => {
    // Between files: what a stop request waits for is at most one file's write.
    input.signal?.throwIfAborted();
    await writeFile(join(outDir, file), text, 'utf8');
  };
  const allRows = await readLedger(handle.db);
  const chain = verifyChain(allRows);
  const ledger = allRows.filter((r) => r.tenants.includes(tenant) || r.tenants.includes('*'));
  const [rejects, warnings, keys, kong] = await Promise.all([
    rejectTally(handle.db, tenant),
    warningTally(handle.db, tenant),
    kmsKeys(handle.db, tenant),
    kongSnapshots(handle.db, tenant),
  ]);
  // Start rows no end row names (a run killed outright): no break of the chain, but the auditor must see them.
  const unfinished = unfinishedStarts(allRows).filter((seq) => ledger.some((r) => r.seq === seq));
  const ledgerStatus = `${chain.status === 'intact' ? `intact (${chain.rows} rows)` : `BROKEN at row ${chain.seq}`}${unfinished.length ? `; unfinished runs (start row, no end row): row ${unfinished.join(', ')}` : ''}`;

  const own = { 'validation.json': 'json', 'validation.junit.xml': 'junit', 'validation.md': 'md' } as const;
  await writeValidationReports(input.report, Object.values(own), outDir, input.junit);
  const files: Record<string, string> = {
    'ledger.json': json({ tenant, chain, unfinished, rows: ledger }),
    'fingerprints.json': json({ tenant, tables: input.fingerprints }),
    'rejects.json': json({ tenant, byReason: rejects }),
    'warnings.json': json({ tenant, byCode: warnings }),
    'kms-keys.json': json({ tenant, configs: keys }),
    'report.html': renderEvidenceHtml({
      tenant,
      createdAt: now.toISOString(),
      report: input.report,
      ledger,
      unfinished,
      ledgerStatus,
      fingerprints: input.fingerprints,
      rejects,
      warnings,
      keys,
      cutoverAt: kong.cutoverAt,
    }),
  };
  for (const [file, text] of Object.entries(files)) await write(file, guardEvidenceFile(file, text));
  await write('kong-before.json', guardEvidenceFile('kong-before.json', json({ tenant, cutoverAt: kong.cutoverAt, routing: kong.before }), true));
  await write('kong-after.json', guardEvidenceFile('kong-after.json', json({ tenant, cutoverAt: kong.cutoverAt, routing: kong.after }), true));

  const manifest = await buildManifest(outDir, { tenant, createdAt: now.toISOString(), toolCommit: toolCommit(input.buildCommit) });
  const manifestText = guardEvidenceFile(MANIFEST, json(manifest));
  await write(MANIFEST, manifestText);
  if (!input.signWith) return { files: manifest.files.length + 1 };
  const signature = await signManifest(input.signWith.kms, Buffer.from(manifestText, 'utf8'), input.signWith.keyId);
  await write(SIGNATURE, json(signature));
  return { files: manifest.files.length + 2, signedBy: signature.keyId };
}
