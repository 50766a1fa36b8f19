import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAccessPolicyClient, startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, legacyQuery, loadLegacyDatabases, phiHits, producedOutput, runMigrator, type LegacyDatabases } from '../../validate/testing/harness';
import { PAST_THE_GATES } from '../../testing/past-the-gates';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let accessPolicy: AccessPolicyStandIn;
let kmsDir: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();

beforeAll(async () => {
  [pg, legacy, accessPolicy] = await Promise.all([createTestDatabase(), loadLegacyDatabases('s3'), startAccessPolicyStandIn()]);
  handle = await createDatabase(pg.url, { max: 2 });
  kmsDir = await mkdtemp(join(tmpdir(), 'vc-s3-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_KMS: `local:${join(kmsDir, 'kms.json')}`,
  };
});

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), accessPolicy?.close(), kmsDir ? rm(kmsDir, { recursive: true, force: true }) : undefined]);
});

const s3 = (tenant: string, ...extra: string[]) =>
  runMigrator(['phase', 's3', '--tenant', tenant, '--as-of', asOf, '--max-reject-rate', '0.1', '--json', ...PAST_THE_GATES, ...extra], env);
const consents = (tenant: string) => createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 }).countConsents(tenant);

async function checkpointFacts(tenant: string, step: string): Promise<Record<string, unknown>> {
  const rows = await queryRows<{ facts: Record<string, unknown> }>(
    handle.db,
    sql`select facts from vc_migration.step_checkpoints where tenant_id = ${tenant} and phase = 's3' and step_id = ${step}`,
  );
  return rows[0]?.facts ?? {};
}

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('phase s3 on MariaDB patient_portal', { timeout: 180_000 }, () => {
  it('exports, imports and verifies the tenant consents with the counts the generator expects', async () => {
    const run = await s3('acme');
    expect(run.code, run.stderr).toBe(0);
    const expected = legacy.expected.tenants.acme!.consents;
    const summary = JSON.parse(run.stdout) as { status: string; steps: Array<{ id: string; read: number; rejected: number }>; rejects: Record<string, number> };
    expect(summary.status).toBe('done');
    expect(summary.steps.find((s) => s.id === '3.1')).toMatchObject({ read: expected.legacy, rejected: 1 });
    expect(summary.rejects).toEqual(expected.rejected);
    expect(await checkpointFacts('acme', '3.1')).toMatchObject({ consents: { legacy: expected.legacy, active: expected.active, inactive: expected.inactive } });
    expect(await checkpointFacts('acme', '3.2')).toMatchObject({ imported: { created: expected.active + expected.inactive, changed: 0, unchanged: 0 } });
    expect(await checkpointFacts('acme', '3.3')).toMatchObject({ disagreements: 0 });
    expect(await consents('acme')).toBe(expected.active + expected.inactive);
  });

  it('keeps the rejected row with its reason, never duplicated by a re-run', async () => {
    const count = async () =>
      queryRows<{ reason: string; n: string }>(
        handle.db,
        sql`select reason, count(*) as n from vc_migration.rejects where tenant_id = 'acme' and phase = 's3' group by reason`,
      );
    expect(await count()).toEqual([{ reason: 'missing_patient', n: '1' }]);
    expect((await s3('acme')).code).toBe(0);
    expect(await count()).toEqual([{ reason: 'missing_patient', n: '1' }]);
  });

  it('re-importing changes nothing in access-policy', async () => {
    const before = await consents('acme');
    const run = await s3('acme', '--restart-step', '3.2');
    expect(run.code, run.stderr).toBe(0);
    const expected = legacy.expected.tenants.acme!.consents;
    expect(await checkpointFacts('acme', '3.2')).toMatchObject({ imported: { created: 0, changed: 0, unchanged: expected.active + expected.inactive } });
    expect(await consents('acme')).toBe(before);
  });

  it('--dry-run reads and maps but imports and records nothing', async () => {
    const run = await s3('initech', '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    expect(await consents('initech')).toBe(0);
    const rows = await queryRows(handle.db, sql`select 1 from vc_migration.step_checkpoints where tenant_id = 'initech'`);
    expect(rows).toHaveLength(0);
  });

  it('an access-policy outage fails the import (exit 1, state kept) and the next run resumes to the full import', async () => {
    accessPolicy.setDown(true);
    const down = await s3('initech');
    accessPolicy.setDown(false);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('consent upsert for tenant initech: access-policy answered 503');
    expect(await checkpointFacts('initech', '3.1')).toMatchObject({ consents: { legacy: legacy.expected.tenants.initech!.consents.legacy } });
    const resumed = await s3('initech');
    expect(resumed.code, resumed.stderr).toBe(0);
    const expected = legacy.expected.tenants.initech!.consents;
    expect(await consents('initech')).toBe(expected.active + expected.inactive);
    expect(await checkpointFacts('initech', '3.2')).toMatchObject({ imported: { created: expected.active + expected.inactive, changed: 0, unchanged: 0 } });
  });

  it('quarantines each consent access-policy refuses as consent_refused, and a restart of 3.2 imports them', async () => {
    // An access-policy that refuses every write with 422 (a business rule), as one would reject a consent.
    const refusing = createServer((req, res) => {
      req.resume();
      res.writeHead(422, { 'Content-Type': 'application/problem+json' }).end('{"title":"unprocessable"}');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`;
    const refused = await runMigrator(
      ['phase', 's3', '--tenant', 'umbrella', '--as-of', asOf, '--max-reject-rate', '1', '--restart-step', '3.2', ...PAST_THE_GATES],
      {
        ...env,
        VC_ACCESS_POLICY_URL: refusingUrl,
      },
    ).finally(() => new Promise((resolve) => refusing.close(resolve)));
    expect(refused.code).toBe(1);
    const expected = legacy.expected.tenants.umbrella!.consents;
    const rejects = await queryRows<{ legacy_key: string; detail: string }>(
      handle.db,
      sql`select legacy_key, detail from vc_migration.rejects where tenant_id = 'umbrella' and phase = 's3' and step_id = '3.2' and reason = 'consent_refused' order by legacy_key`,
    );
    expect(rejects).toHaveLength(expected.active + expected.inactive);
    for (const r of rejects) {
      expect(r.legacy_key).toMatch(/^telehealth_consent:\d+$/);
      expect(r.detail).toBe('access-policy refused the consent (HTTP 422): consent upsert for tenant umbrella: access-policy answered 422');
    }
    expect(await checkpointFacts('umbrella', '3.2')).toMatchObject({ imported: { created: 0, refused: expected.active + expected.inactive } });

    const fixed = await s3('umbrella', '--restart-step', '3.2');
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(await consents('umbrella')).toBe(expected.active + expected.inactive);
    expect(await queryRows(handle.db, sql`select 1 from vc_migration.rejects where tenant_id = 'umbrella' and step_id = '3.2'`)).toHaveLength(0);
  });

  it('fails the verify step when access-policy disagrees with legacy, naming legacy ids only', async () => {
    const imported = await s3('umbrella');
    expect(imported.code, imported.stderr).toBe(0);
    // A patient legacy denies (revoked, never granted) is given a permit behind the migrator's back.
    const [denied] = await legacyQuery<{ patient_ref: string }>(
      legacy.portalUrl,
      `select patient_ref from telehealth_consent where tenant_id = 'umbrella' and patient_ref <> '' group by patient_ref
       having sum(lower(trim(status)) = 'granted') = 0 order by patient_ref limit 1`,
    );
    await createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 }).upsertConsent('umbrella', {
      identifier: { system: 'urn:test:tamper', value: '1' },
      patientRef: denied!.patient_ref,
      status: 'active',
      periodStart: '2020-01-01T00:00:00.000Z',
    });
    const run = await s3('umbrella', '--restart-step', '3.3');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/umbrella: 1 patient\(s\) whose access-policy decision disagrees with legacy, e\.g\. (telehealth_consent|VirtualSession):\d+/);
    expect(await checkpointFacts('umbrella', '3.3')).toMatchObject({ disagreements: 1 });
  });

  it('reads consents from the CSV export when no portal database is configured', async () => {
    const csvDir = fileURLToPath(new URL('../../../../../fixtures/legacy/csv', import.meta.url));
    const expected = (
      JSON.parse(await readFile(join(csvDir, 'expected.json'), 'utf8')) as {
        tenants: Record<string, { consents: { legacy: number; active: number; inactive: number } }>;
      }
    ).tenants.globex!.consents;
    const run = await runMigrator(['phase', 's3', '--tenant', 'globex', '--as-of', asOf, '--max-reject-rate', '0.1', ...PAST_THE_GATES], {
      VC_DATABASE_URL: pg.url,
      VC_LEGACY_EXPORT_DIR: csvDir,
      VC_ACCESS_POLICY_URL: accessPolicy.url,
      VC_KMS: env.VC_KMS!,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await checkpointFacts('globex', '3.1')).toMatchObject({
      consents: { legacy: expected.legacy, active: expected.active, inactive: expected.inactive },
    });
    expect(await consents('globex')).toBe(expected.active + expected.inactive);
  });

  it('never prints a patient ref, display name or secret', () => {
    expect(
      phiHits(
        producedOutput().map((text, i) => ({ path: `run#${i}`, text })),
        legacy.sensitive,
      ),
    ).toEqual([]);
  });
});
