import { readdir, readFile } from 'node:fs/promises';
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

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => p !== MANIFEST && p !== SIGNATURE)
    .sort();
}

/** Hashes every file of the folder into a manifest. */
export async function buildManifest(dir: string, meta: Omit<Manifest, 'files'>): Promise<Manifest> {
  const files: Manifest['files'] = [];
  for (const path of await filesUnder(dir)) {
    const bytes = await readFile(join(dir, path));
    files.push({ path, sha256: sha256(bytes), bytes: bytes.length });
  }
  return { ...meta, files };
}

/** The signature of the manifest's exact bytes (so the manifest, and through it every file, is signed). */
export async function signManifest(kms: Kms, manifestBytes: Uint8Array, keyId?: string): Promise<KmsSignature> {
  return kms.sign(manifestBytes, keyId);
}

export type PackVerdict =
  | { status: 'intact'; files: number; signed: boolean }
  | {
      status: 'tampered';
      file: string;
      problem: 'changed' | 'missing' | 'unlisted' | 'signature_invalid' | 'signature_missing' | 'manifest_unreadable';
      message: string;
    };

/**
 * Checks a pack folder: the manifest parses, every listed file is there with its sha256, no file is there
 * that the manifest does not list, and (when signed) the signature verifies over the manifest's bytes.
 * `kms` is needed only for a signed pack. The first problem is named by file. With `requireSignature`, no
 * SIGNATURE.json is a failure too: whoever can rewrite files can delete the signature and rewrite the
 * manifest, and such a pack otherwise verifies as merely unsigned.
 */
export async function verifyPack(dir: string, kms?: () => Promise<Kms>, options: { requireSignature?: boolean } = {}): Promise<PackVerdict> {
  let manifestBytes: Buffer;
  let manifest: Manifest;
  try {
    manifestBytes = await readFile(join(dir, MANIFEST));
    manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    if (!Array.isArray(manifest.files)) throw new Error('files is not a list');
  } catch (error) {
    return {
      status: 'tampered',
      file: MANIFEST,
      problem: 'manifest_unreadable',
      message: `${MANIFEST} cannot be read as a manifest (${(error as Error).message})`,
    };
  }
  const present = new Set(await filesUnder(dir));
  for (const entry of manifest.files) {
    if (!present.has(entry.path))
      return { status: 'tampered', file: entry.path, problem: 'missing', message: `${entry.path} is listed in ${MANIFEST} but missing` };
    const actual = sha256(await readFile(join(dir, entry.path)));
    if (actual !== entry.sha256)
      return {
        status: 'tampered',
        file: entry.path,
        problem: 'changed',
        message: `${entry.path} does not match its sha256 in ${MANIFEST} (changed since the pack was written)`,
      };
    present.delete(entry.path);
  }
  const extra = [...present][0];
  if (extra !== undefined)
    return { status: 'tampered', file: extra, problem: 'unlisted', message: `${extra} is not listed in ${MANIFEST} (added after the pack was written)` };
  let signature: KmsSignature | undefined;
  try {
    signature = JSON.parse(await readFile(join(dir, SIGNATURE), 'utf8')) as KmsSignature;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      return { status: 'tampered', file: SIGNATURE, problem: 'signature_invalid', message: `${SIGNATURE} is not JSON` };
  }
  if (!signature && options.requireSignature) {
    return {
      status: 'tampered',
      file: SIGNATURE,
      problem: 'signature_missing',
      message: `${SIGNATURE} is missing and a signature is required (--require-signature): the pack is unsigned, or its signature was removed`,
    };
  }
  if (signature) {
    if (!kms) throw new Error(`${SIGNATURE} is present: verifying it needs the KMS (VC_KMS)`);
    const valid = await (await kms()).verify(manifestBytes, signature);
    if (!valid)
      return {
        status: 'tampered',
        file: MANIFEST,
        problem: 'signature_invalid',
        message: `${SIGNATURE} does not verify over ${MANIFEST} with key ${signature.keyId} (the manifest or the signature changed)`,
      };
  }
  return { status: 'intact', files: manifest.files.length, signed: signature !== undefined };
}
