import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms } from '@vc/integrations/kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator } from '../testing/run-cli';
import { buildManifest, MANIFEST, SIGNATURE, signManifest } from './manifest';

/**
 * `evidence verify --require-signature`: whoever can rewrite a pack can also delete SIGNATURE.json and
 * rewrite MANIFEST.json to match the edit; plain verify then says "unsigned" and exits 0. An auditor who
 * knows the pack was signed requires the signature: then that pack is exit 3 naming SIGNATURE.json.
 * The real CLI in a child process, the local KMS keyring signing as `migrator evidence --sign` does.
 */
let work: string;
let pack: string;
let env: Record<string, string>;

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function writeManifest(): Promise<string> {
  const text = json(await buildManifest(pack, { tenant: 'acme', createdAt: '2026-12-01T00:00:00.000Z', toolCommit: 'unknown' }));
  await writeFile(join(pack, MANIFEST), text, 'utf8');
  return text;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vc-require-signature-'));
  pack = join(work, 'acme');
  env = { VC_KMS: `local:${join(work, 'kms.json')}` };
  await mkdir(pack);
  await writeFile(join(pack, 'rejects.json'), json({ tenant: 'acme', byReason: { missing_patient: { count: 1, legacyIds: ['17'] } } }));
  const manifest = await writeManifest();
  const kms = await createKms(env.VC_KMS!);
  await writeFile(join(pack, SIGNATURE), json(await signManifest(kms, Buffer.from(manifest, 'utf8'))));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('evidence verify --require-signature', { timeout: 60_000 }, () => {
  it('passes a signed pack (exit 0, signature valid)', async () => {
    const run = await runMigrator(['evidence', 'verify', pack, '--require-signature'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('signature valid');
  });

  it('a removed signature with a rewritten manifest verifies as unsigned without it, and is exit 3 naming SIGNATURE.json with it', async () => {
    await writeFile(join(pack, 'rejects.json'), json({ tenant: 'acme', byReason: {} }));
    await unlink(join(pack, SIGNATURE));
    await writeManifest();
    const plain = await runMigrator(['evidence', 'verify', pack], env);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('unsigned');
    const required = await runMigrator(['evidence', 'verify', pack, '--require-signature', '--json'], env);
    expect(required.code).toBe(3);
    expect(JSON.parse(required.stdout)).toMatchObject({ status: 'tampered', file: SIGNATURE, problem: 'signature_missing' });
    const text = await runMigrator(['evidence', 'verify', pack, '--require-signature'], env);
    expect(text.code).toBe(3);
    expect(text.stdout).toContain(`evidence TAMPERED: ${SIGNATURE}: ${SIGNATURE} is missing and a signature is required`);
  });
});
