import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startKmsStandIn, type KmsStandIn } from '@vc/integrations/kms';
import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockTenantPhase } from '../engine/lock';
import { runInProcess } from '../phases/s4/testing/in-process-cli';
import { FIXTURE, loadLegacyDatabases, type LegacyDatabases } from '../validate/testing/harness';

/**
 * An evidence pack is one state of the tenant: the validation and the files beside it (rejects, warnings, keys,
 * Kong snapshots, ledger) are read under the same reading lock, so a run of the tenant that starts meanwhile (a
 * second operator's `phase s1`) is kept out until the pack is written, not let in between the validation and the
 * tallies. Real PostgreSQL and MariaDB; the signing KMS is the AWS stand-in behind a loopback proxy that tries the
 * run's lock when the Sign request arrives, the last thing the pack does.
 */
let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let accessPolicy: AccessPolicyStandIn;
let kms: KmsStandIn;
let proxy: { url: string; close(): Promise<void> };
let work: string;
let env: Record<string, string>;
/** What a `phase s1 --tenant acme` starting while the KMS was asked to sign got: its lock, or why not. */
let duringSign: string | undefined;

beforeAll(async () => {
  [pg, legacy, accessPolicy, kms, work] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('evlock'),
    startAccessPolicyStandIn(),
    startKmsStandIn(),
    mkdtemp(join(tmpdir(), 'vc-evlock-')),
  ]);
  handle = await createDatabase(pg.url, { max: 3 });
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (String(req.headers['x-amz-target'] ?? '').endsWith('.Sign')) {
        duringSign = await lockTenantPhase(handle, 'acme', 's1').then(
          async (lock) => (await lock.release(), 'taken'),
          (error: Error) => error.message,
        );
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<
        string,
        string
      >;
      const upstream = await fetch(`${kms.url}${req.url ?? '/'}`, { method: req.method, headers, body: Buffer.concat(chunks) });
      res
        .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
        .end(Buffer.from(await upstream.arrayBuffer()));
    })().catch((error: unknown) => res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_KMS: `aws:${kms.keyIds[0]}`,
    VC_KMS_ENDPOINT: proxy.url,
    VC_KMS_CREDENTIALS: 'stand-in',
    AWS_REGION: 'us-east-1',
  };
  const s1 = await runInProcess(['phase', 's1', '--tenant', 'acme', '--as-of', FIXTURE.asOf.toISOString(), '--max-reject-rate', '0.5'], env);
  expect(s1.code, s1.error).toBe(0);
}, 240_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), accessPolicy?.close(), kms?.close(), proxy?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('evidence holds the tenant for reading until its pack is written', () => {
  it('a run of the tenant starting while the pack is signed is refused, and the pack is written', async () => {
    const out = join(work, 'pack');
    const run = await runInProcess(['evidence', '--tenant', 'acme', '--out', out, '--sign', '--as-of', FIXTURE.asOf.toISOString(), '--json'], env);
    expect(run.code, run.error).toBe(0);
    expect(await readdir(out)).toEqual(expect.arrayContaining(['rejects.json', 'validation.json', 'MANIFEST.json', 'SIGNATURE.json']));
    expect(duringSign).toBe('validate or an evidence pack is reading tenant acme; run tenant acme phase s1 again once it has finished');
    // Given back once the pack is written: the run goes ahead.
    await (await lockTenantPhase(handle, 'acme', 's1')).release();
  }, 240_000);
});
