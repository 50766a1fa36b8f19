import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKms, startKmsStandIn, type KmsStandIn } from '@vc/integrations/kms';
import { create as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator } from '../testing/run-cli';
import { verifyPackArchive } from './archive';
import { buildManifest, MANIFEST, SIGNATURE, signManifest } from './manifest';

/**
 * Tampers `migrator evidence verify` must name (exit 3), and paths it must refuse as a usage error (exit 2)
 * rather than call tampered. The real CLI in a child process; the KMS stand-in over loopback as
 * VC_KMS=aws:<key>, its second key the forger's (or, with --expect-key, the key a pack was signed with).
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

/** SIGNATURE.json over the pack's manifest, by stand-in key `key` (0: the VC_KMS key). */
async function sign(pack: { dir: string; manifest: string }, key: number): Promise<void> {
  const signer = await createKms(`aws:${kms.keyIds[key]}`, { aws: { endpoint: kms.url, region: 'us-east-1', credentials: 'stand-in' } });
  await writeFile(join(pack.dir, SIGNATURE), json(await signManifest(signer, Buffer.from(pack.manifest, 'utf8'))));
}

/** `<dir>.tar.gz` as the pack writes it: the folder, relative to its parent. */
async function archiveOf(dir: string, entries = [dir.slice(work.length + 1)]): Promise<string> {
  const archive = `${dir}.tar.gz`;
  await createTar({ gzip: true, file: archive, cwd: work, portable: true }, entries);
  return archive;
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

describe('evidence verify: the key, symlinks, fifos and the archive', { timeout: 60_000 }, () => {
  it('names the key the signature verified under', async () => {
    const ours = await makePack('signed-ours');
    await sign(ours, 0);
    const run = await runMigrator(['evidence', 'verify', ours.dir], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`signature valid (key ${kms.keyIds[0]})`);
  });

  it('--expect-key checks a pack signed by another key (a --sign-key), which the VC_KMS key refuses naming both keys', async () => {
    const theirs = await makePack('signed-sign-key');
    await sign(theirs, 1);
    const expected = await runMigrator(['evidence', 'verify', theirs.dir, '--expect-key', kms.keyIds[1]!, '--json'], env);
    expect(expected.code, expected.stderr).toBe(0);
    expect(JSON.parse(expected.stdout)).toEqual({ status: 'intact', files: 1, signed: true, keyId: kms.keyIds[1] });
    const other = await runMigrator(['evidence', 'verify', theirs.dir, '--json'], env);
    expect(other.code).toBe(3);
    expect(JSON.parse(other.stdout)).toMatchObject({ problem: 'signature_invalid', keyId: kms.keyIds[0] });
    expect(JSON.parse(other.stdout).message).toContain(`it names key arn:aws:kms:us-east-1:111122223333:key/${kms.keyIds[1]}`);
  });

  it('--expect-key requires a signature', async () => {
    const unsigned = await makePack('unsigned-expected');
    const required = await runMigrator(['evidence', 'verify', unsigned.dir, '--expect-key', kms.keyIds[0]!, '--json'], env);
    expect(required.code).toBe(3);
    expect(JSON.parse(required.stdout)).toMatchObject({ file: SIGNATURE, problem: 'signature_missing' });
  });

  it('a listed file replaced by a symlink to the same bytes is tampered (not_a_file)', async () => {
    const { dir } = await makePack('listed-symlink');
    const copy = join(work, 'rejects-copy.json');
    execFileSync('cp', [join(dir, 'rejects.json'), copy]);
    await unlink(join(dir, 'rejects.json'));
    await symlink(copy, join(dir, 'rejects.json'));
    const run = await runMigrator(['evidence', 'verify', dir, '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'tampered', file: 'rejects.json', problem: 'not_a_file' });
  });

  it('a fifo added to the pack folder is named as unlisted, and never read (which would hang)', async () => {
    const { dir } = await makePack('fifo');
    execFileSync('mkfifo', [join(dir, 'pipe.json')]);
    const run = await runMigrator(['evidence', 'verify', dir, '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'tampered', file: 'pipe.json', problem: 'unlisted' });
  });

  it('a path that is neither a folder nor a .tar.gz is a usage error (exit 2) naming it', async () => {
    const { dir } = await makePack('not-a-folder');
    const run = await runMigrator(['evidence', 'verify', join(dir, 'rejects.json')], env);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${join(dir, 'rejects.json')} is not a folder nor a .tar.gz`);
  });

  it('the .tar.gz of a signed pack verifies (exit 0, naming the key), and one with a changed file is tampered, naming it', async () => {
    const pack = await makePack('archived-signed');
    await sign(pack, 0);
    const archive = await archiveOf(pack.dir);
    const run = await runMigrator(['evidence', 'verify', archive], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toBe(`evidence intact (archive ${archive}): 1 files, signature valid (key ${kms.keyIds[0]})\n`);

    await writeFile(join(pack.dir, 'rejects.json'), json({ tenant: 'acme', byReason: {} }));
    await unlink(archive);
    const changed = await runMigrator(['evidence', 'verify', await archiveOf(pack.dir), '--json'], env);
    expect(changed.code).toBe(3);
    expect(JSON.parse(changed.stdout)).toMatchObject({ status: 'tampered', file: 'rejects.json', problem: 'changed', archive });
  });

  it('an archive holding a symlink, or an entry outside its folder, is tampered and nothing of it is unpacked outside', async () => {
    const linked = await makePack('archived-link');
    await symlink('/etc/hostname', join(linked.dir, 'report-extra.html'));
    const withLink = await runMigrator(['evidence', 'verify', await archiveOf(linked.dir), '--json'], env);
    expect(withLink.code, withLink.stdout + withLink.stderr).toBe(3);
    expect(JSON.parse(withLink.stdout)).toMatchObject({ file: 'archived-link/report-extra.html', problem: 'not_a_file' });

    const escaping = await makePack('archived-escape');
    const outside = `vc-escape-${randomUUID()}.html`;
    await writeFile(join(tmpdir(), outside), '<p>planted</p>\n');
    const archive = `${escaping.dir}.tar.gz`;
    await createTar({ gzip: true, file: archive, cwd: work, portable: true, preservePaths: true }, ['archived-escape', `../${outside}`]);
    await rm(join(tmpdir(), outside));
    const run = await runMigrator(['evidence', 'verify', archive, '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ file: `../${outside}`, problem: 'unlisted' });
    expect(existsSync(join(tmpdir(), outside))).toBe(false);
  });

  it('an archive that would unpack past the cap is not unpacked further (archive_unreadable), and one within it verifies', async () => {
    const pack = await makePack('archived-large');
    await writeFile(join(pack.dir, 'padding.bin'), Buffer.alloc(64 * 1024));
    const archive = await archiveOf(pack.dir);
    const capped = await verifyPackArchive(archive, undefined, { maxUnpackedBytes: 16 * 1024 });
    expect(capped).toMatchObject({ status: 'tampered', file: 'archived-large.tar.gz', problem: 'archive_unreadable' });
    // Within the cap the same archive is checked as a folder: the padding is a file its manifest does not list.
    expect(await verifyPackArchive(archive, undefined, { maxUnpackedBytes: 1024 * 1024 })).toMatchObject({ status: 'tampered', problem: 'unlisted' });
  });

  it('a file that is no archive is tampered or damaged (exit 3, archive_unreadable), not a crash', async () => {
    const bogus = join(work, 'bogus.tar.gz');
    await writeFile(bogus, 'not a tarball\n');
    const run = await runMigrator(['evidence', 'verify', bogus, '--json'], env);
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(JSON.parse(run.stdout)).toMatchObject({ file: 'bogus.tar.gz', problem: 'archive_unreadable' });
  });

  it('evidence --out refuses (exit 2) when <out>.tar.gz exists, before anything runs', async () => {
    await writeFile(join(work, 'handed-over.tar.gz'), 'the archive of an earlier pack\n');
    const run = await runMigrator(['evidence', '--tenant', 'acme', '--out', join(work, 'handed-over')], env);
    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toContain(`${join(work, 'handed-over.tar.gz')} exists`);
  });
});
