import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, FIXTURE, loadLegacyDatabases, keyringSecrets, phiHits, producedOutput, runMigrator, type LegacyDatabases } from './testing/harness';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let accessPolicy: AccessPolicyStandIn;
let jitsi: JitsiStandIn;
let fhir: FhirStandIn;
let work: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();

interface ValidationJson {
  status: 'pass' | 'fail';
  checks: Array<{ id: string; tenant: string; status: 'pass' | 'fail'; expected: unknown; actual: unknown; samples: string[] }>;
}

const migrator = (...args: string[]) => runMigrator(args, env);
const validate = (out: string, ...args: string[]) => migrator('validate', ...args, '--as-of', asOf, '--report', 'json,junit,md', '--out', join(work, out), '--json');

beforeAll(async () => {
  [pg, legacy, accessPolicy, jitsi, fhir] = await Promise.all([createTestDatabase(), loadLegacyDatabases('val'), startAccessPolicyStandIn(), startJitsiStandIn(), startFhirStandIn()]);
  handle = await createDatabase(pg.url, { max: 2 });
  work = await mkdtemp(join(tmpdir(), 'vc-validate-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_MODE: 'shadow',
  };
  const s1 = await migrator('phase', 's1', '--tenant', 'acme', '--as-of', asOf, '--max-reject-rate', '0.5', '--json');
  expect(s1.code, s1.stderr).toBe(0);
  const s1b = await migrator('phase', 's1', '--tenant', 'globex', '--as-of', asOf, '--max-reject-rate', '0.5', '--json');
  expect(s1b.code, s1b.stderr).toBe(0);
  // Plan 2.1: the tenant's Jitsi is deployed; its URL is the one the migrated config now names.
  await queryRows(handle.db, sql`update tenant_virtual_care_configs set jitsi_server_url = ${jitsi.url} returning tenant_id`);
  for (const tenant of ['acme', 'globex']) {
    // S2 2.4 creates the Encounters legacy never made (acme); globex, left without a config by S1, stops at 2.2.
    // No traffic was mirrored to the new service here: the parallel run compares the migrated copies only.
    const s2 = await migrator('phase', 's2', '--tenant', tenant, '--as-of', asOf, '--window', '14d', '--report-dir', join(work, 's2'), '--min-parallel-pairs', '0');
    expect(s2.code, s2.stderr).toBe(tenant === 'acme' ? 0 : 1);
    const s3 = await migrator('phase', 's3', '--tenant', tenant, '--as-of', asOf, '--max-reject-rate', '0.5');
    expect(s3.code, s3.stderr).toBe(0);
  }
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), accessPolicy?.close(), jitsi?.close(), fhir?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('migrator validate (plan §5 checklist)', { timeout: 180_000 }, () => {
  it('passes a healthy tenant with every check of the checklist', async () => {
    const run = await validate('acme', '--tenant', 'acme');
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(report.checks.filter((c) => c.status === 'fail'), run.stderr).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.checks.map((c) => c.id)).toEqual([
      'sessions.reconciled',
      'sessions.status',
      'configs.migrated',
      'configs.test_connection',
      'encounters.ended_sessions',
      'consents.accessible',
      'billing.recent_sessions',
    ]);
    const sessions = legacy.expected.tenants.acme!.sessions;
    const rejected = Object.values(sessions.rejected).reduce((a, b) => a + b, 0);
    expect(report.checks[0]).toMatchObject({ expected: { legacy: sessions.legacy }, actual: { loaded: sessions.loaded, rejected, deferred: sessions.deferred } });
    const encounters = report.checks.find((c) => c.id === 'encounters.ended_sessions')!.actual as { backfilled: number; checkedInFhir: number; notFoundInFhir: number };
    expect(encounters.backfilled).toBeGreaterThan(0);
    expect(encounters).toMatchObject({ checkedInFhir: Math.min(encounters.backfilled, 25), notFoundInFhir: 0 });
  });

  it('fails when FHIR no longer has an Encounter the migrator recorded, sampling its legacy id, until 2.4 re-creates it', async () => {
    const [first] = await queryRows<{ legacy_id: string; encounter_ref: string }>(
      handle.db,
      sql`select legacy_id, encounter_ref from vc_migration.encounter_backfills where tenant_id = 'acme' order by session_id limit 1`,
    );
    const deleted = await fetch(`${fhir.url}/${first!.encounter_ref}`, { method: 'DELETE' });
    expect(deleted.ok).toBe(true);
    const run = await validate('acme-lost-encounter', '--tenant', 'acme');
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['encounters.ended_sessions']);
    expect(report.checks.find((c) => c.id === 'encounters.ended_sessions')).toMatchObject({ actual: { notFoundInFhir: 1 }, samples: [`VirtualSession:${first!.legacy_id}`] });

    // The runbook's repair: clear the lost ref, let 2.4 create the Encounter again.
    await queryRows(handle.db, sql`update virtual_sessions set encounter_ref = null where tenant_id = 'acme' and legacy_id = ${first!.legacy_id} returning id`);
    const repair = await migrator('phase', 's2', '--tenant', 'acme', '--as-of', asOf, '--window', '14d', '--report-dir', join(work, 's2'), '--min-parallel-pairs', '0', '--restart-step', '2.4');
    expect(repair.code, repair.stderr).toBe(0);
    const again = await validate('acme-repaired', '--tenant', 'acme');
    expect(again.code, again.stderr).toBe(0);
  });

  it('fails the deliberately broken tenant with exit 3, and its JUnit XML names the failing check', async () => {
    const run = await validate('globex', '--tenant', 'globex');
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(report.status).toBe('fail');
    const failing = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    // No config: no test-connection, and S2 (whose 2.4 carries legacy billing over) could not run for globex.
    expect(failing).toEqual(['configs.migrated', 'configs.test_connection', 'encounters.ended_sessions', 'billing.recent_sessions']);
    expect(report.checks.find((c) => c.id === 'configs.migrated')).toMatchObject({ actual: { migrated: false, rejectReason: 'credential_decrypt_failed' }, samples: ['TenantVirtualCareConfig:globex'] });
    const junit = (await filesUnder(join(work, 'globex'))).find((f) => f.path.endsWith('validation.junit.xml'))!.text;
    expect(junit).toContain('<testcase classname="validate.globex" name="configs.migrated">');
    expect(junit).toMatch(/<failure type="configs\.migrated" message="configs\.migrated failed for tenant globex/);
    expect(junit).toContain('failures="4"');
  });

  it('reports every tenant in one run and fails when any tenant fails', async () => {
    const run = await validate('all', '--all-tenants');
    expect(run.code, run.stderr).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(new Set(report.checks.map((c) => c.tenant))).toEqual(new Set(Object.keys(legacy.expected.tenants)));
    expect(Object.keys(report)).toEqual(['status', 'checks']);
    for (const check of report.checks) expect(Object.keys(check)).toEqual(['id', 'tenant', 'status', 'expected', 'actual', 'samples']);
  });

  it('fails when the migrated data no longer reconciles, sampling the legacy id', async () => {
    const [victim] = await queryRows<{ legacy_id: string }>(handle.db, sql`select legacy_id from virtual_sessions where tenant_id = 'acme' and status = 'cancelled' and legacy_id is not null order by legacy_id limit 1`);
    await queryRows(handle.db, sql`delete from virtual_sessions where tenant_id = 'acme' and legacy_id = ${victim!.legacy_id} returning id`);
    const run = await validate('acme-broken', '--tenant', 'acme');
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(report.checks.find((c) => c.id === 'sessions.reconciled')).toMatchObject({ status: 'fail', samples: [`VirtualSession:${victim!.legacy_id}`] });
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await migrator('validate', '--tenant', 'acme', '--all-tenants')).code).toBe(2);
    expect((await migrator('validate', '--tenant', 'acme', '--report', 'html')).code).toBe(2);
  });

  it('no report or log of these runs carries a patient ref, display name or secret', async () => {
    const reports = await filesUnder(work);
    expect(reports.filter((f) => f.path.endsWith('.xml') || f.path.endsWith('.md') || f.path.endsWith('.json')).length).toBeGreaterThan(6);
    const logs = producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text }));
    const keys = await keyringSecrets(join(work, 'kms.json'));
    expect(keys.length).toBeGreaterThan(0);
    expect(phiHits([...reports.filter((f) => !f.path.endsWith('kms.json')), ...logs], [...legacy.sensitive, ...keys])).toEqual([]);
  });
});
