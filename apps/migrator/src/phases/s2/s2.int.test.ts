import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, FIXTURE, legacyQuery, loadLegacyDatabases, phiHits, producedOutput, runMigrator, type LegacyDatabases } from '../../validate/testing/harness';

const MIRRORED = '7d2c1a4e-5b6f-4c3d-9e8f-0a1b2c3d4e5f';
const PATIENT = 'Patient/p-s2-mirrored';
const DOCTOR = 'Practitioner/d-s2-mirrored';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let jitsi: JitsiStandIn;
let brokenJitsi: JitsiStandIn;
let work: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();
const migrator = (...args: string[]) => runMigrator(args, env);
const s2 = (tenant: string, ...extra: string[]) =>
  migrator('phase', 's2', '--tenant', tenant, '--as-of', asOf, '--window', '14d', '--report-dir', join(work, 'reports'), '--max-reject-rate', '0.5', '--json', ...extra);
const facts = async (tenant: string, step: string) =>
  (await queryRows<{ facts: Record<string, unknown> }>(handle.db, sql`select facts from vc_migration.step_checkpoints where tenant_id = ${tenant} and phase = 's2' and step_id = ${step}`))[0]?.facts ?? {};
const count = async (query: ReturnType<typeof sql>) => Number((await queryRows<{ n: string }>(handle.db, query))[0]!.n);

/** One appointment run by both systems during the parallel run: legacy row with externalId = the new session id. */
async function mirrorOneSession(): Promise<void> {
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, externalId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, encounterRef, createdAt, updatedAt)
     values (900002, 'acme', ?, ?, ?, '2026-10-30 10:00:00', '2026-10-30 10:30:00', '2026-10-30 10:01:00', '2026-10-30 10:21:00', 'completed', 'jitsi', 'Encounter/e-mirrored', '2026-10-29 09:00:00', '2026-10-30 10:21:00')`,
    [MIRRORED, PATIENT, DOCTOR],
  );
  for (const actor of [PATIENT, DOCTOR]) {
    await legacyQuery(legacy.legacyUrl, "insert into AuditLog (tenantId, entityType, entityId, action, actorRef, occurredAt) values ('acme', 'VirtualSession', '900002', 'participant.joined', ?, '2026-10-30 10:01:00')", [actor]);
  }
  await legacyQuery(legacy.legacyUrl, "insert into BillingEvent (id, tenantId, sessionId, code, modifier, placeOfService, units, occurredAt, status) values (900002, 'acme', 900002, '99213', '95', '02', 1, '2026-10-30 10:21:00', 'sent')");
  await queryRows(
    handle.db,
    sql`insert into virtual_sessions (id, tenant_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, encounter_ref)
        values (${MIRRORED}, 'acme', ${PATIENT}, ${DOCTOR}, '2026-10-30T10:00:00Z', '2026-10-30T10:30:00Z', '2026-10-30T10:01:20Z', '2026-10-30T10:21:05Z', 'ended', 'Encounter/e-mirrored') returning id`,
  );
  for (const [ref, role] of [[PATIENT, 'patient'], [DOCTOR, 'practitioner']] as const) {
    await queryRows(handle.db, sql`insert into session_participants (session_id, tenant_id, participant_ref, role, join_count, source) values (${MIRRORED}, 'acme', ${ref}, ${role}, 1, 'live') returning session_id`);
  }
  await queryRows(handle.db, sql`insert into billing_events (tenant_id, session_id, code, modifier, place_of_service, occurred_at) values ('acme', ${MIRRORED}, '99213', '95', '02', '2026-10-30T10:21:05Z') returning id`);
  await queryRows(handle.db, sql`insert into session_audit_events (tenant_id, session_id, action, occurred_at) values ('acme', ${MIRRORED}, 'session.ended', '2026-10-30T10:21:05Z') returning id`);
}

beforeAll(async () => {
  [pg, legacy, jitsi, brokenJitsi] = await Promise.all([createTestDatabase(), loadLegacyDatabases('s2'), startJitsiStandIn(), startJitsiStandIn({ broken: true })]);
  handle = await createDatabase(pg.url, { max: 2 });
  work = await mkdtemp(join(tmpdir(), 'vc-s2-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_MODE: 'shadow',
  };
  for (const tenant of ['acme', 'initech']) {
    const s1 = await migrator('phase', 's1', '--tenant', tenant, '--as-of', asOf, '--max-reject-rate', '0.5');
    expect(s1.code, s1.stderr).toBe(0);
  }
  // Plan 2.1 deployed each tenant's Jitsi; initech's is missing its web assets.
  await queryRows(handle.db, sql`update tenant_virtual_care_configs set jitsi_server_url = ${jitsi.url} where tenant_id = 'acme' returning tenant_id`);
  await queryRows(handle.db, sql`update tenant_virtual_care_configs set jitsi_server_url = ${brokenJitsi.url} where tenant_id = 'initech' returning tenant_id`);
  await mirrorOneSession();
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), jitsi?.close(), brokenJitsi?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('phase s2: Jitsi JWT test, parallel run, Encounter/billing/audit checks', { timeout: 180_000 }, () => {
  it('2.4 fails naming the ended sessions without an Encounter after the test-connection and a go parallel run', async () => {
    const run = await s2('acme');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gap\(s\) in Encounter\/billing\/audit for sessions ended in the window, e\.g\. encounter VirtualSession:\d+/);
    expect(await facts('acme', '2.2')).toEqual({ connectionOk: true, failingChecks: [] });
    const [config] = await queryRows<{ last_connection_test: { ok: boolean } }>(handle.db, sql`select last_connection_test from tenant_virtual_care_configs where tenant_id = 'acme'`);
    expect(config!.last_connection_test.ok).toBe(true);
    expect(await facts('acme', '2.3')).toMatchObject({ parallelRun: { decision: 'go', reasons: [], counts: { pairs: { parallel: 1 }, legacyOnly: 0, candidateOnly: 0 } } });
  });

  it('passes once the tenant FHIR era is confirmed, and carries legacy billing of migrated sessions over', async () => {
    await queryRows(
      handle.db,
      sql`update tenant_virtual_care_configs set fhir_era_start = (select max(ended_at) + interval '1 millisecond' from virtual_sessions
          where tenant_id = 'acme' and status = 'ended' and encounter_ref is null and legacy_id is not null) where tenant_id = 'acme' returning tenant_id`,
    );
    const run = await s2('acme');
    expect(run.code, run.stderr).toBe(0);
    const [legacyBilled] = await legacyQuery<{ n: number }>(
      legacy.legacyUrl,
      "select count(*) as n from BillingEvent b join VirtualSession s on s.id = b.sessionId where b.tenantId = 'acme' and s.id <> 900002",
    );
    const carried = await count(sql`select count(*) as n from billing_events where tenant_id = 'acme' and legacy_id is not null`);
    expect(carried).toBeGreaterThan(0);
    expect(carried).toBeLessThanOrEqual(Number(legacyBilled!.n));
    expect(await facts('acme', '2.4')).toMatchObject({ billingCarried: true, billing: { missing: 0 }, audit: { missing: 0 }, encounters: { missing: 0 } });
  });

  it('writes the parallel-run report: per-field tallies, noise baseline, redacted samples and the decision', async () => {
    const md = await readFile(join(work, 'reports', 's2-parallel-run-acme.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# Parallel run acme: GO');
    const report = JSON.parse(await readFile(join(work, 'reports', 's2-parallel-run-acme.json'), 'utf8')) as { fields: { parallel: Record<string, { matched: number; mismatched: number }> } };
    for (const field of ['status', 'duration', 'participants', 'encounter', 'billing']) expect(report.fields.parallel[field]).toMatchObject({ matched: 1, mismatched: 0 });
  });

  it('a re-run of the finished phase changes nothing', async () => {
    const before = await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`);
    const run = await s2('acme');
    expect(run.code, run.stderr).toBe(0);
    expect(await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`)).toBe(before);
    const forced = await s2('acme', '--restart-step', '2.4');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`)).toBe(before);
  });

  it('a parallel session that bills differently is a no-go naming the field and the legacy id', async () => {
    await queryRows(handle.db, sql`update billing_events set code = '99214' where session_id = ${MIRRORED} returning id`);
    const run = await s2('acme', '--restart-step', '2.3');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('parallel run for tenant acme is a no-go: billing_mismatch_rate: 1.0000 > baseline');
    const md = await readFile(join(work, 'reports', 's2-parallel-run-acme.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# Parallel run acme: NO-GO');
    expect(md).toContain(`| billing | parallel | 900002 | ${MIRRORED} | 99213 | 99214 |`);
  });

  it('2.2 fails a tenant whose Jitsi deployment is broken, storing the failed test', async () => {
    const run = await s2('initech');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Jitsi test-connection failed for tenant initech: failing checks external_api_js');
    const [config] = await queryRows<{ last_connection_test: { ok: boolean } }>(handle.db, sql`select last_connection_test from tenant_virtual_care_configs where tenant_id = 'initech'`);
    expect(config!.last_connection_test.ok).toBe(false);
  });

  it('no report or log carries a patient ref, display name or secret', async () => {
    const reports = await filesUnder(join(work, 'reports'));
    expect(reports.length).toBe(2);
    const logs = producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text }));
    expect(phiHits([...reports, ...logs], [...legacy.sensitive, PATIENT, DOCTOR])).toEqual([]);
  });
});
