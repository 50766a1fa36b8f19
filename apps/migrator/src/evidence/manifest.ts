import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Kms, KmsSignature } from '@vc/integrations/kms';
import { sha256 } from '../ledger/canonical';

export const MANIFEST = 'MANIFEST.json';
export const SIGNATURE = 'SIGNATURE.json';

/** `MANIFEST.json`: what the pack is, and the sha256 of every other file in it (but the signature). */
export interface Manifest {
  tenant: string;
  createdAt: string;
  toolCommit: string;
  files: Array<{ path: string; sha256: string; bytes: number }>;
}

/**
 * Every entry of the folder that is not a directory (symlinks, fifos, sockets included: readdir does not
 * follow them), but the manifest and the signature. A symlink is no file of the pack: it points outside
 * it, and what it shows can change after the pack was verified.
 */
async function entriesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => p !== MANIFEST && p !== SIGNATURE)
    .sort();
}

/** `lstat` (the entry itself, not what a symlink points to): whether `path` is a regular file. */
async function isRegularFile(path: string): Promise<boolean> {
  return (await lstat(path)).isFile();
}

/** Hashes every file of the folder into a manifest; anything there but files and folders is refused. */
export async function buildManifest(dir: string, meta: Omit<Manifest, 'files'>): Promise<Manifest> {
  const files: Manifest['files'] = [];
  for (const path of await entriesUnder(dir)) {
    if (!(await isRegularFile(join(dir, path))))
      throw new Error(`${path} in the pack folder is not a regular file (a symlink or a device): a pack holds files only`);
    const bytes = await readFile(join(dir, path));
    files.push({ path, sha256: sha256(bytes), bytes: bytes.length });
  }
  return { ...meta, files };
}

/** The signature of the manifest's exact bytes (so the manifest, and through it every file, is signed). */
export async function signManifest(kms: Kms, manifestBytes: Uint8Array, keyId?: string): Promise<KmsSignature> {
  return kms.sign(manifestBytes, keyId);
}

/** What is wrong with a pack, per file (`--json`'s `problem`). */
export type PackProblem =
  'changed' | 'missing' | 'unlisted' | 'not_a_file' | 'signature_invalid' | 'signature_missing' | 'manifest_unreadable' | 'archive_unreadable';

/** `keyId`: the key the signature was checked with (the VC_KMS key, or `--expect-key`). */
export type PackVerdict =
  | { status: 'intact'; files: number; signed: boolean; keyId?: string }
  | { status: 'tampered'; file: string; problem: PackProblem; message: string; keyId?: string };

export interface VerifyOptions {
  /** No SIGNATURE.json is a failure (an auditor checking a pack that was signed). */
  requireSignature?: boolean;
  /** The key the signature must verify under, instead of the VC_KMS key; implies `requireSignature`. */
  expectKey?: string;
}

const tampered = (file: string, problem: PackProblem, message: string): PackVerdict => ({ status: 'tampered', file, problem, message });

const isSignature = (value: unknown): value is KmsSignature =>
  typeof value === 'object' && value !== null && ['keyId', 'algorithm', 'signature'].every((k) => typeof (value as Record<string, unknown>)[k] === 'string');

const isManifest = (value: unknown): value is Manifest =>
  typeof value === 'object' &&
  value !== null &&
  Array.isArray((value as Manifest).files) &&
  (value as Manifest).files.every((f) => typeof f === 'object' && f !== null && typeof f.path === 'string' && typeof f.sha256 === 'string');

/** An ARN names the key its id does: AWS Sign answers with the ARN of the key id it was given. */
const sameKey = (named: string, expected: string) => named === expected || named.endsWith(`/${expected}`);

/**
 * Checks a pack folder: the manifest parses, every listed file is there, a regular file, with its sha256,
 * nothing is there that the manifest does not list (a symlink or a fifo included), and (when signed) the
 * signature verifies over the manifest's bytes under the expected key: `options.expectKey`, else the VC_KMS
 * key. Never the key SIGNATURE.json names: whoever rewrites a pack signs it with a key of their own (in AWS,
 * one in another account the auditor's credentials may still Verify with). `kms` is needed only for a
 * signed pack. The first problem is named by file. With `requireSignature` (or `expectKey`), no
 * SIGNATURE.json is a failure too: whoever can rewrite files can delete the signature and rewrite the
 * manifest, and such a pack otherwise verifies as merely unsigned.
 */
export async function verifyPack(dir: string, kms?: () => Promise<Kms>, options: VerifyOptions = {}): Promise<PackVerdict> {
  for (const own of [MANIFEST, SIGNATURE]) {
    const entry = await lstat(join(dir, own)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (entry && !entry.isFile()) return tampered(own, 'not_a_file', `${own} is not a regular file (a symlink or a device): the pack writes files only`);
  }
  let manifestBytes: Buffer;
  let manifest: Manifest;
  try {
    manifestBytes = await readFile(join(dir, MANIFEST));
    const parsed: unknown = JSON.parse(manifestBytes.toString('utf8'));
    if (!isManifest(parsed)) throw new Error('files is not a list of { path, sha256 }');
    manifest = parsed;
  } catch (error) {
    return tampered(MANIFEST, 'manifest_unreadable', `${MANIFEST} cannot be read as a manifest (${(error as Error).message})`);
  }
  const present = new Set(await entriesUnder(dir));
  for (const entry of manifest.files) {
    if (!present.has(entry.path)) return tampered(entry.path, 'missing', `${entry.path} is listed in ${MANIFEST} but missing`);
    if (!(await isRegularFile(join(dir, entry.path))))
      return tampered(
        entry.path,
        'not_a_file',
        `${entry.path} is listed in ${MANIFEST} but is not a regular file (a symlink or a device: replaced after the pack was written)`,
      );
    const actual = sha256(await readFile(join(dir, entry.path)));
    if (actual !== entry.sha256)
      return tampered(entry.path, 'changed', `${entry.path} does not match its sha256 in ${MANIFEST} (changed since the pack was written)`);
    present.delete(entry.path);
  }
  const extra = [...present][0];
  if (extra !== undefined) return tampered(extra, 'unlisted', `${extra} is not listed in ${MANIFEST} (added after the pack was written)`);
  let signature: KmsSignature | undefined;
  try {
    const parsed: unknown = JSON.parse(await readFile(join(dir, SIGNATURE), 'utf8'));
    if (!isSignature(parsed)) return tampered(SIGNATURE, 'signature_invalid', `${SIGNATURE} is not a signature ({ keyId, algorithm, signature })`);
    signature = parsed;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return tampered(SIGNATURE, 'signature_invalid', `${SIGNATURE} is not JSON`);
  }
  if (!signature && (options.requireSignature || options.expectKey !== undefined)) {
    return tampered(
      SIGNATURE,
      'signature_missing',
      `${SIGNATURE} is missing and a signature is required (${options.requireSignature ? '--require-signature' : '--expect-key'}): the pack is unsigned, or its signature was removed`,
    );
  }
  if (!signature) return { status: 'intact', files: manifest.files.length, signed: false };
  if (!kms) throw new Error(`${SIGNATURE} is present: verifying it needs the KMS (VC_KMS)`);
  const verifier = await kms();
  const keyId = options.expectKey ?? verifier.keyId;
  const source = options.expectKey !== undefined ? '--expect-key' : 'the VC_KMS key';
  let valid: boolean;
  try {
    valid = await verifier.verify(manifestBytes, { ...signature, keyId });
  } catch (error) {
    throw new Error(
      `${SIGNATURE} could not be checked with key ${keyId} (${source}): ${(error as Error).message}. A pack signed with --sign-key is checked with --expect-key <that key>`,
      { cause: error },
    );
  }
  if (!valid) {
    const named = sameKey(signature.keyId, keyId) ? '' : `; it names key ${signature.keyId}, which is not the expected key`;
    return {
      ...tampered(
        MANIFEST,
        'signature_invalid',
        `${SIGNATURE} does not verify over ${MANIFEST} with key ${keyId} (${source})${named}: the manifest or the signature changed, or another key signed it`,
      ),
      keyId,
    };
  }
  return { status: 'intact', files: manifest.files.length, signed: true, keyId };
}
