import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms, startKmsStandIn, type KmsStandIn } from '@vc/integrations/kms';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator } from '../testing/run-cli';
import { buildManifest, MANIFEST, SIGNATURE, signManifest } from './manifest';

/**
 * Review: tampers `migrator evidence verify` lets through. The real CLI in a child process; the KMS
 * stand-in over loopback as VC_KMS=aws:<key>.
 */
let work: string;
let kms: KmsStandIn;
let env: Record<string, string>;
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function makePack(name: string): Promise<{ dir: string; manifest: string }> {
  const dir = join(work, name);
  await mkdir(dir);
  await writeFile(join(dir, 'rejects.json'), json({ tenant: 'acme', byReason: { missing_patient: { count: 1, legacyIds: ['17'] } } }));
  const manifest = json(await buildManifest(dir, { tenant: 'acme', createdAt: '2026-12-01T00:00:00.000Z', toolCommit: 'unknown' }));
  await writeFile(join(dir, MANIFEST), manifest, 'utf8');
  return { dir, manifest };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vc-review-verify-'));
  kms = await startKmsStandIn({ keys: 2 });
  env = {
    VC_KMS: `aws:${kms.keyIds[0]}`,
    VC_KMS_ENDPOINT: kms.url,
    VC_KMS_CREDENTIALS: 'stand-in',
    AWS_REGION: 'us-east-1',
  };
});

afterAll(async () => {
  await kms?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('evidence verify: review of tampers', { timeout: 60_000 }, () => {
  it('a symlink added to the pack folder is named as unlisted (exit 3), not passed as intact', async () => {
    const { dir } = await makePack('symlinked');
    const outside = join(work, 'outside.html');
    await writeFile(outside, '<script>forged</script>\n');
    await symlink(outside, join(dir, 'report-extra.html'));
    const run = await runMigrator(['evidence', 'verify', dir, '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'tampered', file: 'report-extra.html', problem: 'unlisted' });
  });

  it('a manifest re-signed with another KMS key than VC_KMS is not "signature valid" (exit 3 signature_invalid)', async () => {
    const { dir, manifest } = await makePack('other-key');
    // The forger's key: any key the auditor's KMS credentials can Verify with (in AWS: a key ARN in another account).
    const forger = await createKms(`aws:${kms.keyIds[1]}`, { aws: { endpoint: kms.url, region: 'us-east-1', credentials: 'stand-in' } });
    await writeFile(join(dir, SIGNATURE), json(await signManifest(forger, Buffer.from(manifest, 'utf8'))));
    const run = await runMigrator(['evidence', 'verify', dir, '--require-signature', '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'tampered', file: MANIFEST, problem: 'signature_invalid' });
  });

  it('a folder that is not there (a typo) is a usage error, exit 2, not "evidence TAMPERED" (exit 3)', async () => {
    const run = await runMigrator(['evidence', 'verify', join(work, 'acmee')], env);
    expect({ code: run.code, tampered: run.stdout.includes('TAMPERED') }, run.stdout + run.stderr).toEqual({ code: 2, tampered: false });
  });

  it('the .tar.gz the pack is handed over as is not reported TAMPERED (exit 3): verified, or refused as a usage error', async () => {
    const { dir } = await makePack('archived');
    const archive = `${dir}.tar.gz`;
    await createTar({ gzip: true, file: archive, cwd: work, portable: true }, ['archived']);
    const run = await runMigrator(['evidence', 'verify', archive], env);
    expect(run.code === 0 || run.code === 2, `exit ${run.code}: ${run.stdout}${run.stderr}`).toBe(true);
    expect(run.stdout).not.toContain('TAMPERED');
  });
});
