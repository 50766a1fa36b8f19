import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM, startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filesUnder,
  FIXTURE,
  legacyQuery,
  loadLegacyDatabases,
  keyringSecrets,
  phiHits,
  producedOutput,
  runMigrator,
  type LegacyDatabases,
} from '../../validate/testing/harness';

const MIRRORED = '7d2c1a4e-5b6f-4c3d-9e8f-0a1b2c3d4e5f';
const PATIENT = 'Patient/p-s2-mirrored';
const DOCTOR = 'Practitioner/d-s2-mirrored';
const QUARANTINED_PATIENT = 'Patient/p-s2-quarantined';
const REBILLED_PATIENT = 'Patient/p-s2-rebilled';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let jitsi: JitsiStandIn;
let brokenJitsi: JitsiStandIn;
let fhir: FhirStandIn;
let refusingFhir: Server;
let work: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();
const migrator = (...args: string[]) => runMigrator(args, env);
const s2 = (tenant: string, ...extra: string[]) =>
  migrator(
    'phase',
    's2',
    '--tenant',
    tenant,
    '--as-of',
    asOf,
    '--window',
    '14d',
    '--report-dir',
    join(work, 'reports'),
    '--max-reject-rate',
    '0.5',
    '--json',
    ...extra,
  );
const facts = async (tenant: string, step: string) =>
  (
    await queryRows<{ facts: Record<string, unknown> }>(
      handle.db,
      sql`select facts from vc_migration.step_checkpoints where tenant_id = ${tenant} and phase = 's2' and step_id = ${step}`,
    )
  )[0]?.facts ?? {};
const count = async (query: ReturnType<typeof sql>) => Number((await queryRows<{ n: string }>(handle.db, query))[0]!.n);
/** Migrated ended sessions of acme legacy left without an Encounter, inside its FHIR era: what 2.4 backfills. */
const BACKFILL_CANDIDATES = sql`select count(*) as n from virtual_sessions s join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
  where s.tenant_id = 'acme' and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null
    and (c.fhir_era_start is null or s.ended_at >= c.fhir_era_start)`;

/** An EHR that answers every write 422, as one refusing the Encounters would. */
async function startRefusingFhir(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule' }] });
    res.writeHead(422, { 'Content-Type': 'application/fhir+json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir/R4`;

/** One appointment run by both systems during the parallel run: legacy row with externalId = the new session id. */
async function mirrorOneSession(): Promise<void> {
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, externalId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, encounterRef, createdAt, updatedAt)
     values (900002, 'acme', ?, ?, ?, '2026-10-30 10:00:00', '2026-10-30 10:30:00', '2026-10-30 10:01:00', '2026-10-30 10:21:00', 'completed', 'jitsi', 'Encounter/e-mirrored', '2026-10-29 09:00:00', '2026-10-30 10:21:00')`,
    [MIRRORED, PATIENT, DOCTOR],
  );
  for (const actor of [PATIENT, DOCTOR]) {
    await legacyQuery(
      legacy.legacyUrl,
      "insert into AuditLog (tenantId, entityType, entityId, action, actorRef, occurredAt) values ('acme', 'VirtualSession', '900002', 'participant.joined', ?, '2026-10-30 10:01:00')",
      [actor],
    );
  }
  await legacyQuery(
    legacy.legacyUrl,
    "insert into BillingEvent (id, tenantId, sessionId, code, modifier, placeOfService, units, occurredAt, status) values (900002, 'acme', 900002, '99213', '95', '02', 1, '2026-10-30 10:21:00', 'sent')",
  );
  await queryRows(
    handle.db,
    // As the service leaves it in VC_MODE=shadow: no Encounter (shadow mode creates none), while legacy's twin has one.
    sql`insert into virtual_sessions (id, tenant_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, encounter_ref)
        values (${MIRRORED}, 'acme', ${PATIENT}, ${DOCTOR}, '2026-10-30T10:00:00Z', '2026-10-30T10:30:00Z', '2026-10-30T10:01:20Z', '2026-10-30T10:21:05Z', 'ended', null) returning id`,
  );
  for (const [ref, role] of [
    [PATIENT, 'patient'],
    [DOCTOR, 'practitioner'],
  ] as const) {
    await queryRows(
      handle.db,
      sql`insert into session_participants (session_id, tenant_id, participant_ref, role, join_count, source) values (${MIRRORED}, 'acme', ${ref}, ${role}, 1, 'live') returning session_id`,
    );
  }
  await queryRows(
    handle.db,
    sql`insert into billing_events (tenant_id, session_id, code, modifier, place_of_service, occurred_at) values ('acme', ${MIRRORED}, '99213', '95', '02', '2026-10-30T10:21:05Z') returning id`,
  );
  await queryRows(
    handle.db,
    sql`insert into session_audit_events (tenant_id, session_id, action, occurred_at) values ('acme', ${MIRRORED}, 'session.ended', '2026-10-30T10:21:05Z') returning id`,
  );
}

/**
 * Legacy rows S1 meets before S2 runs: a session in the window whose cancelReason holds a NUL (S1 quarantines
 * it, invalid_text), and a migrated session outside the window whose bill legacy voided and re-billed with the
 * same code, next to two billing rows whose texts the target cannot hold and two whose values no claim carries.
 */
async function addHostileLegacyRows(): Promise<void> {
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, status, cancelReason, createdAt, updatedAt)
     values (900777, 'acme', ?, ?, '2026-10-29 10:00:00', 'cancelled', ?, '2026-10-28 09:00:00', '2026-10-28 09:00:00')`,
    [QUARANTINED_PATIENT, DOCTOR, 'no\u0000show'],
  );
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, encounterRef, createdAt, updatedAt)
     values (900010, 'acme', ?, ?, '2026-09-15 10:00:00', '2026-09-15 10:30:00', '2026-09-15 10:01:00', '2026-09-15 10:21:00', 'completed', 'jitsi', 'Encounter/e-rebilled', '2026-09-14 09:00:00', '2026-09-15 10:21:00')`,
    [REBILLED_PATIENT, DOCTOR],
  );
  // 900014/900015: values no claim carries (0 units, no place of service), rejected rather than made up.
  for (const [id, code, placeOfService, units, status] of [
    [900010, '99213', '02', 1, 'void'],
    [900011, '99213', '02', 1, 'sent'],
    [900012, '992\u000013', '02', 1, 'sent'],
    [900013, '99214', '0\u00002', 1, 'sent'],
    [900014, '99214', '02', 0, 'sent'],
    [900015, '99214', null, 1, 'sent'],
  ] as const) {
    await legacyQuery(
      legacy.legacyUrl,
      "insert into BillingEvent (id, tenantId, sessionId, code, modifier, placeOfService, units, occurredAt, status) values (?, 'acme', 900010, ?, '95', ?, ?, '2026-09-15 10:21:00', ?)",
      [id, code, placeOfService, units, status],
    );
  }
}

beforeAll(async () => {
  [pg, legacy, jitsi, brokenJitsi, fhir, refusingFhir] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('s2'),
    startJitsiStandIn(),
    startJitsiStandIn({ broken: true }),
    startFhirStandIn(),
    startRefusingFhir(),
  ]);
  handle = await createDatabase(pg.url, { max: 2 });
  work = await mkdtemp(join(tmpdir(), 'vc-s2-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_MODE: 'shadow',
  };
  await addHostileLegacyRows();
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
  await Promise.all([
    pg?.drop(),
    legacy?.drop(),
    jitsi?.close(),
    brokenJitsi?.close(),
    fhir?.close(),
    new Promise((resolve) => (refusingFhir ? refusingFhir.close(resolve) : resolve(undefined))),
    work ? rm(work, { recursive: true, force: true }) : undefined,
  ]);
});

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('phase s2: Jitsi JWT test, parallel run, Encounter/billing/audit checks', { timeout: 180_000 }, () => {
  it('with FHIR down, 2.4 fails resumable after retrying, having recorded no Encounter', async () => {
    const candidates = await count(BACKFILL_CANDIDATES);
    fhir.setDown(true);
    const run = await s2('acme').finally(() => fhir.setDown(false));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/creating the Encounter of VirtualSession:\d+ failed after retries: FHIR POST Encounter answered 503/);
    expect(await facts('acme', '2.2')).toEqual({ connectionOk: true, failingChecks: [] });
    const [config] = await queryRows<{ last_connection_test: { ok: boolean } }>(
      handle.db,
      sql`select last_connection_test from tenant_virtual_care_configs where tenant_id = 'acme'`,
    );
    expect(config!.last_connection_test.ok).toBe(true);
    expect(await facts('acme', '2.3')).toMatchObject({
      parallelRun: { decision: 'go', reasons: [], counts: { pairs: { parallel: 1 }, legacyOnly: 0, candidateOnly: 0 } },
    });
    expect(await count(sql`select count(*) as n from vc_migration.encounter_backfills`)).toBe(0);
    expect(await count(BACKFILL_CANDIDATES)).toBe(candidates);
  });

  it('accounts for a session S1 quarantined in the window (invalid_text) instead of calling it legacy-only', async () => {
    const rejects = await queryRows<{ legacy_key: string; reason: string }>(
      handle.db,
      sql`select legacy_key, reason from vc_migration.rejects where tenant_id = 'acme' and phase = 's1' and legacy_key = '900777'`,
    );
    expect(rejects).toEqual([{ legacy_key: '900777', reason: 'invalid_text' }]);
    // 2.3 ran in the test before; its window holds 900777, which has no copy and never will.
    const { parallelRun } = (await facts('acme', '2.3')) as { parallelRun: { decision: string; counts: { legacyOnly: number }; excludedRejected: number } };
    expect([parallelRun.decision, parallelRun.counts.legacyOnly]).toEqual(['go', 0]);
    expect(parallelRun.excludedRejected).toBeGreaterThan(0);
  });

  it('a dry run counts the Encounters 2.4 would backfill and sends or writes nothing', async () => {
    const candidates = await count(BACKFILL_CANDIDATES);
    expect(candidates).toBeGreaterThan(0);
    // 2.4 stopped after carrying billing over (the test before): the dry run goes on from there.
    const [saved] = await queryRows<{ written: number }>(
      handle.db,
      sql`select written from vc_migration.step_checkpoints where tenant_id = 'acme' and phase = 's2' and step_id = '2.4'`,
    );
    const checkpoints = await count(sql`select count(*) as n from vc_migration.step_checkpoints where phase = 's2'`);
    const run = await s2('acme', '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as { dryRun: boolean; steps: Array<{ id: string; written: number }> };
    expect(summary.dryRun).toBe(true);
    expect(summary.steps.find((s) => s.id === '2.4')?.written).toBe(saved!.written + candidates);
    expect(await fhir.encounterCount()).toBe(0);
    expect(await count(sql`select count(*) as n from vc_migration.encounter_backfills`)).toBe(0);
    expect(await count(sql`select count(*) as n from vc_migration.step_checkpoints where phase = 's2'`)).toBe(checkpoints);
    expect(await facts('acme', '2.4')).not.toHaveProperty('backfill');
  });

  it('quarantines each Encounter FHIR refuses as encounter_refused by legacy id, and fails naming the gaps', async () => {
    const candidates = await count(BACKFILL_CANDIDATES);
    const run = await runMigrator(
      ['phase', 's2', '--tenant', 'acme', '--as-of', asOf, '--window', '14d', '--report-dir', join(work, 'reports'), '--max-reject-rate', '1', '--json'],
      { ...env, VC_FHIR_BASE_URL: urlOf(refusingFhir) },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/gap\(s\) in Encounter\/billing\/audit for sessions ended in the window, e\.g\. encounter VirtualSession:\d+/);
    const rejects = await queryRows<{ legacy_key: string; detail: string }>(
      handle.db,
      sql`select legacy_key, detail from vc_migration.rejects where tenant_id = 'acme' and phase = 's2' and step_id = '2.4' and reason = 'encounter_refused'`,
    );
    expect(rejects).toHaveLength(candidates);
    for (const r of rejects) {
      expect(r.legacy_key).toMatch(/^VirtualSession:\d+$/);
      expect(r.detail).toBe('FHIR refused the Encounter (HTTP 422): FHIR POST Encounter answered 422 (OperationOutcome: business-rule)');
    }
    expect(await count(BACKFILL_CANDIDATES)).toBe(candidates);
  });

  it('creates the missing Encounters of the FHIR era once, finding one an interrupted run made, and carries legacy billing over', async () => {
    // The tenant admin confirms where its FHIR era starts: half of the sessions legacy left without one predate it.
    await queryRows(
      handle.db,
      sql`update tenant_virtual_care_configs set fhir_era_start = (select percentile_disc(0.5) within group (order by ended_at) from virtual_sessions
          where tenant_id = 'acme' and status = 'ended' and encounter_ref is null and legacy_id is not null) where tenant_id = 'acme' returning tenant_id`,
    );
    const candidates = await queryRows<{ id: string; patient_ref: string }>(
      handle.db,
      sql`select s.id, s.patient_ref from virtual_sessions s join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
          where s.tenant_id = 'acme' and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null and s.ended_at >= c.fhir_era_start order by s.id`,
    );
    const preFhir = await count(sql`select count(*) as n from virtual_sessions s join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
      where s.tenant_id = 'acme' and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null and s.ended_at < c.fhir_era_start`);
    expect(candidates.length).toBeGreaterThan(1);
    expect(preFhir).toBeGreaterThan(0);
    // A run killed after FHIR created this one and before the commit: the conditional create must find it.
    const client = createFhirClient({ baseUrl: fhir.url });
    const early = await client.createEncounterIfAbsent(
      { resourceType: 'Encounter', status: 'finished', class: { code: 'VR' }, subject: { reference: candidates[0]!.patient_ref } },
      { system: SESSION_IDENTIFIER_SYSTEM, value: candidates[0]!.id },
    );

    const run = await s2('acme', '--restart-step', '2.4');
    expect(run.code, run.stderr).toBe(0);
    expect(await fhir.encounterCount()).toBe(candidates.length);
    // The only rejects: the two legacy billing rows holding a NUL and the two no claim carries, each naming its field (the step completed).
    const rejects = await queryRows<{ legacy_key: string; reason: string; detail: string }>(
      handle.db,
      sql`select legacy_key, reason, detail from vc_migration.rejects where tenant_id = 'acme' and phase = 's2' and step_id = '2.4' order by legacy_key`,
    );
    expect(rejects).toEqual([
      { legacy_key: 'BillingEvent:900012', reason: 'invalid_text', detail: expect.stringMatching(/^code holds a NUL byte/) as unknown },
      { legacy_key: 'BillingEvent:900013', reason: 'invalid_text', detail: expect.stringMatching(/^placeOfService holds a NUL byte/) as unknown },
      { legacy_key: 'BillingEvent:900014', reason: 'invalid_value', detail: expect.stringMatching(/^units is not a whole number from 1/) as unknown },
      { legacy_key: 'BillingEvent:900015', reason: 'invalid_value', detail: expect.stringMatching(/^placeOfService is missing/) as unknown },
    ]);
    const backfilled = await queryRows<{ session_id: string; encounter_ref: string; created: boolean; session_ref: string }>(
      handle.db,
      sql`select b.session_id, b.encounter_ref, b.created, s.encounter_ref as session_ref from vc_migration.encounter_backfills b
          join virtual_sessions s on s.id = b.session_id order by b.session_id`,
    );
    expect(backfilled.map((b) => b.session_id)).toEqual(candidates.map((c) => c.id));
    for (const b of backfilled) expect(b.session_ref).toBe(b.encounter_ref);
    expect(backfilled.filter((b) => !b.created).map((b) => b.encounter_ref)).toEqual([early.ref]);
    for (const c of candidates.slice(0, 3)) {
      const found = await client.findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: c.id });
      expect(found).toMatchObject({ status: 'finished', class: { code: 'VR' }, subject: { reference: c.patient_ref } });
    }
    expect(
      await count(sql`select count(*) as n from virtual_sessions s join tenant_virtual_care_configs c on c.tenant_id = s.tenant_id
      where s.tenant_id = 'acme' and s.legacy_id is not null and s.status = 'ended' and s.encounter_ref is null and s.ended_at < c.fhir_era_start`),
    ).toBe(preFhir);
    expect(await facts('acme', '2.4')).toMatchObject({
      billingCarried: true,
      encountersBackfilled: true,
      backfill: { candidates: candidates.length, created: candidates.length - 1, existing: 1, rejected: 0 },
      billing: { missing: 0 },
      audit: { missing: 0 },
      encounters: { missing: 0, suppressedInShadow: 1 },
    });

    // Every legacy billing row of a migrated session is carried or rejected: none is lost.
    const migrated = new Set(
      (await queryRows<{ legacy_id: string }>(handle.db, sql`select legacy_id from virtual_sessions where tenant_id = 'acme' and legacy_id is not null`)).map(
        (r) => r.legacy_id,
      ),
    );
    const legacyBilled = (
      await legacyQuery<{ id: number; sessionId: number }>(legacy.legacyUrl, "select id, sessionId from BillingEvent where tenantId = 'acme'")
    )
      .filter((b) => migrated.has(String(b.sessionId)))
      .map((b) => String(b.id));
    const carried = await queryRows<{ legacy_id: string; status: string }>(
      handle.db,
      sql`select legacy_id, status from billing_events where tenant_id = 'acme' and legacy_id is not null`,
    );
    expect(carried.length).toBeGreaterThan(0);
    expect([...carried.map((c) => c.legacy_id), '900012', '900013', '900014', '900015'].sort()).toEqual(legacyBilled.sort());
    // Legacy's void and its re-bill of the same code for one session are both there.
    expect(carried.filter((c) => ['900010', '900011'].includes(c.legacy_id)).sort((a, b) => a.legacy_id.localeCompare(b.legacy_id))).toEqual([
      { legacy_id: '900010', status: 'void' },
      { legacy_id: '900011', status: 'published' },
    ]);
    const [step] = (JSON.parse(run.stdout) as { steps: Array<{ id: string; written: number; rejected: number }> }).steps.filter((x) => x.id === '2.4');
    expect(step!.rejected).toBe(4);
  });

  it('writes the parallel-run report: per-field tallies, noise baseline, redacted samples and the decision', async () => {
    const md = await readFile(join(work, 'reports', 's2-parallel-run-acme.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# Parallel run acme: GO');
    const report = JSON.parse(await readFile(join(work, 'reports', 's2-parallel-run-acme.json'), 'utf8')) as {
      fields: { parallel: Record<string, { matched: number; mismatched: number; ignored: number; ignoredBecause: Record<string, number> }> };
    };
    for (const field of ['status', 'duration', 'participants', 'billing']) expect(report.fields.parallel[field]).toMatchObject({ matched: 1, mismatched: 0 });
    // Legacy's twin has an Encounter, the shadow session none: shadow mode's doing, neither a match nor a mismatch.
    expect(report.fields.parallel.encounter).toMatchObject({ matched: 0, mismatched: 0, ignored: 1, ignoredBecause: { suppressed_in_shadow: 1 } });
  });

  it('a re-run of the finished phase changes nothing', async () => {
    const before = await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`);
    const run = await s2('acme');
    expect(run.code, run.stderr).toBe(0);
    expect(await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`)).toBe(before);
    const encounters = await fhir.encounterCount();
    const forced = await s2('acme', '--restart-step', '2.4');
    expect(forced.code, forced.stderr).toBe(0);
    expect(await count(sql`select count(*) as n from billing_events where tenant_id = 'acme'`)).toBe(before);
    expect(await fhir.encounterCount()).toBe(encounters);
    expect(await facts('acme', '2.4')).toMatchObject({ backfill: { candidates: 0, created: 0 } });
    // Nothing new was carried or created, and the summary says so.
    expect((JSON.parse(forced.stdout) as { steps: Array<{ id: string; written: number }> }).steps.find((s) => s.id === '2.4')?.written).toBe(0);
  });

  it('the parallel run counts no backfilled Encounter as a mismatch of the migrated sessions', async () => {
    const run = await s2('acme', '--restart-step', '2.3');
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(join(work, 'reports', 's2-parallel-run-acme.json'), 'utf8')) as {
      fields: { migrated: Record<string, { mismatched: number; ignoredBecause: Record<string, number> }> };
    };
    expect(report.fields.migrated.encounter!.mismatched).toBe(0);
    expect(report.fields.migrated.encounter!.ignoredBecause.backfilled_by_migrator).toBeGreaterThan(0);
  });

  it('is a no-go when the window holds fewer mirrored sessions than --min-parallel-pairs asks, and refuses a malformed value', async () => {
    const run = await s2('acme', '--restart-step', '2.3', '--min-parallel-pairs', '2');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('parallel run for tenant acme is a no-go: too_few_parallel_sessions: 1 < 2');
    // Run again after the failure (no restart): the same window compared again, read once, not added on.
    const read = (r: { stdout: string }) => (JSON.parse(r.stdout) as { steps: Array<{ id: string; read: number }> }).steps.find((s) => s.id === '2.3')?.read;
    const again = await s2('acme', '--min-parallel-pairs', '2');
    expect(again.code).toBe(1);
    expect(read(again)).toBe(read(run));
    expect(read(run)).toBeGreaterThan(0);
    const bad = await s2('acme', '--min-parallel-pairs', 'some');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--min-parallel-pairs expects a whole number, 0 or more, got "some"');
  });

  it('a parallel session that bills differently is a no-go naming the field and the legacy id', async () => {
    await queryRows(handle.db, sql`update billing_events set code = '99214' where session_id = ${MIRRORED} returning id`);
    const run = await s2('acme', '--restart-step', '2.3');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('parallel run for tenant acme is a no-go: billing_mismatch_rate: 1.0000 > baseline');
    const md = await readFile(join(work, 'reports', 's2-parallel-run-acme.md'), 'utf8');
    expect(md.split('\n')[0]).toBe('# Parallel run acme: NO-GO');
    expect(md).toContain(`| billing | parallel | 900002 | ${MIRRORED} | 99213 | 99214 |`);
    // The mirrored session has no Encounter, its legacy twin has one: shadow mode's, not counted against the service.
    expect(md).toContain('| encounter | 0 | 0 | 1 | suppressed_in_shadow 1 | 0.0000 |');
  });

  it('2.2 in a dry run fails the same way but says the result was not stored (a dry run keeps nothing)', async () => {
    const run = await s2('initech', '--dry-run');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Jitsi test-connection failed for tenant initech: failing checks external_api_js (dry run: result not stored)');
    expect(run.stderr).not.toContain('result stored on the config');
  });

  it('2.2 fails a tenant whose Jitsi deployment is broken, storing the failed test', async () => {
    const run = await s2('initech');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Jitsi test-connection failed for tenant initech: failing checks external_api_js');
    const [config] = await queryRows<{ last_connection_test: { ok: boolean } }>(
      handle.db,
      sql`select last_connection_test from tenant_virtual_care_configs where tenant_id = 'initech'`,
    );
    expect(config!.last_connection_test.ok).toBe(false);
  });

  it('no report or log carries a patient ref, display name or secret', async () => {
    const reports = await filesUnder(join(work, 'reports'));
    expect(reports.length).toBe(2);
    const logs = producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text }));
    const keys = await keyringSecrets(join(work, 'kms.json'));
    expect(keys.length).toBeGreaterThan(0);
    expect(phiHits([...reports, ...logs], [...legacy.sensitive, ...keys, PATIENT, DOCTOR, QUARANTINED_PATIENT, REBILLED_PATIENT])).toEqual([]);
  });
});
