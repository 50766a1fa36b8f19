import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedCounts } from '@vc/fixtures';
import { createKms, startKmsStandIn, type KmsStandIn } from '@vc/integrations/kms';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator, runMigratorJson } from '../../testing/run-cli';

/**
 * Step 1.3 against AWS KMS (the real @aws-sdk/client-kms, over loopback to the KMS-protocol stand-in):
 * throttling is retried to success; a denial fails the step clearly and a later run resumes it.
 */
const EXPORT_DIR = fileURLToPath(new URL('../../../../../fixtures/legacy/csv', import.meta.url));
const expected = JSON.parse(readFileSync(join(EXPORT_DIR, 'expected.json'), 'utf8')) as ExpectedCounts;

let kms: KmsStandIn;
let db: TestDatabase;
let client: pg.Client;
let work: string;
let env: Record<string, string>;

const s1 = (tenant: string) => ['phase', 's1', '--tenant', tenant, '--as-of', expected.asOf, '--max-reject-rate', '0.2'];
const encryptCalls = () => kms.calls.filter((c) => c.target === 'Encrypt').length;

beforeAll(async () => {
  kms = await startKmsStandIn();
  db = await createTestDatabase({ migrated: false });
  work = await mkdtemp(join(tmpdir(), 'vc-s1-kms-'));
  env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: EXPORT_DIR,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `aws:${kms.keyIds[0]}`,
    VC_KMS_ENDPOINT: kms.url,
    VC_KMS_CREDENTIALS: 'stand-in',
    AWS_REGION: 'us-east-1',
  };
  expect((await runMigrator(['phase', 's0'], env)).code).toBe(0);
  client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
  await kms?.close();
  await rm(work, { recursive: true, force: true });
});

describe('s1 step 1.3 with AWS KMS', () => {
  it('a throttling KMS is retried with backoff until the credentials are re-encrypted, decryptable under the tenant context', async () => {
    const before = encryptCalls();
    kms.failNext(3, 'throttle');
    const run = await runMigrator(s1('acme'), env);
    expect(run.code, run.stderr).toBe(0);
    expect(encryptCalls() - before).toBe(4);
    const { rows } = await client.query(`select credentials_ciphertext, kms_key_id from tenant_virtual_care_configs where tenant_id = 'acme'`);
    expect(rows[0].kms_key_id).toBe(kms.keyIds[0]);
    const aws = await createKms(`aws:${kms.keyIds[0]}`, { aws: { endpoint: kms.url, region: 'us-east-1', credentials: 'stand-in' } });
    const plaintext = JSON.parse(
      Buffer.from(await aws.decrypt(rows[0].credentials_ciphertext, { tenantId: 'acme', purpose: 'jitsi-credentials' })).toString('utf8'),
    );
    expect(Object.keys(plaintext)).toEqual(['appSecret']);
    await expect(aws.decrypt(rows[0].credentials_ciphertext, { tenantId: 'umbrella', purpose: 'jitsi-credentials' })).rejects.toThrow();
  });

  it('a denying KMS fails step 1.3 clearly (exit 1, state kept); once allowed, the next run resumes at 1.3', async () => {
    kms.denyAll(true);
    const denied = await runMigratorJson<{ status: string; steps: Array<{ id: string; status: string; error?: string }> }>(s1('umbrella'), env);
    kms.denyAll(false);
    expect(denied.code).toBe(1);
    expect(denied.json.status).toBe('failed');
    expect(denied.json.steps.map((s) => [s.id, s.status])).toEqual([
      ['1.1', 'done'],
      ['1.2', 'done'],
      ['1.3', 'failed'],
    ]);
    expect(denied.json.steps[2]!.error).toMatch(/^KMS access_denied re-encrypting the credentials of tenant umbrella/);
    expect((await client.query(`select 1 from tenant_virtual_care_configs where tenant_id = 'umbrella'`)).rowCount).toBe(0);

    const resumed = await runMigratorJson<{ status: string; steps: Array<{ id: string; status: string }> }>(s1('umbrella'), env);
    expect(resumed.code).toBe(0);
    expect(resumed.json.steps.map((s) => [s.id, s.status])).toEqual([
      ['1.1', 'skipped'],
      ['1.2', 'skipped'],
      ['1.3', 'done'],
      ['1.4', 'done'],
      ['1.5', 'done'],
    ]);
    expect((await client.query(`select 1 from tenant_virtual_care_configs where tenant_id = 'umbrella'`)).rowCount).toBe(1);
  });
});
