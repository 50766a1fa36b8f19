import { appendFile, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { csvField } from '@vc/fixtures';
import type { TestMysqlDatabase } from '@vc/fixtures/testing';
import fc from 'fast-check';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { runInProcess } from './testing/in-process-cli';
import { eventValues, insertRows, sessionValues, type LegacyRowValues } from './testing/legacy-rows';
import { exportCsv } from './testing/legacy-mutations';
import { hostileDate, hostileEvent as hostileEventOf, hostileText } from '../../testing/hostile-values';
import { checkParticipantEvents, type SourceEvent } from '../../testing/participant-outcomes';
import { startLegacyHarness, type LegacyHarness } from './testing/legacy-harness';

/**
 * Legacy rows changed or added after S1 with hostile values never stop a tenant's S4 delta sync: each
 * bad row is rejected with a reason code and its raw row, every other one lands, and the good rows land
 * exactly. Legacy's schema drifted from the DDL (wider refs, no unique externalId, text datetimes in
 * AuditLog), so the MariaDB here is altered the same way. On MariaDB and on a CSV export (where a
 * legacy id can also repeat). And S4's rejects keep one row per bad legacy row, under its own table: a
 * session and an AuditLog row sharing an id never hide each other's reject, and a CSV twin is rejected
 * whichever batch it is read in, also by a resumed pass.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';
const EXTERNAL = '0d6b2c7e-5f1a-4c3b-8e2d-7a9f1b3c5d01';
const EDITED = '2026-11-10 09:00:00';

let legacy: TestMysqlDatabase;
let mariadb: mysql.Connection;
let client: pg.Client;
let work: string;
let env: Record<string, string>;

let harness: LegacyHarness;

beforeAll(async () => {
  harness = await startLegacyHarness('s4hostile', { sessions: 5, seed: 15, asOf: AS_OF });
  ({ legacy, mariadb, client, work } = harness);
  await mariadb.query(
    'ALTER TABLE VirtualSession DROP INDEX idx_VirtualSession_tenantId_patientRef, MODIFY patientRef TEXT NULL, MODIFY practitionerRef TEXT NULL, DROP INDEX uq_VirtualSession_externalId',
  );
  await mariadb.query('ALTER TABLE AuditLog MODIFY actorRef TEXT NULL, MODIFY actorDisplay TEXT NULL, MODIFY occurredAt VARCHAR(40) NULL');
  env = { ...harness.env };
}, 120_000);

afterAll(() => harness?.close());

const session = sessionValues;
const event = eventValues;
const insert = (table: 'VirtualSession' | 'AuditLog', rows: LegacyRowValues[]) => insertRows(mariadb, table, rows);

// Hostile values (testing/hostile-values.ts): any unicode, NUL, huge strings, bad datetimes, bad JSON.
const text = hostileText(12, 3, 4000);
const date = hostileDate(['2026-11-20 10:00:00', '2026-12-24 10:00:00'], 10);
const hostileSession = fc.record({
  externalId: fc.oneof(fc.constant(null), fc.constant(EXTERNAL), fc.uuid()),
  patientRef: text,
  practitionerRef: text,
  cancelReason: text,
  scheduledStart: date,
  // A DATETIME column in legacy: an end before the start, or none, is as odd as it gets.
  endedAt: fc.constantFrom('2026-11-20 10:25:00', '2026-09-30 09:00:00', null),
  status: fc.constantFrom('completed', 'cancelled', 'in_progress', '??', 'ended\u0000'),
});
// Of a session S1 loaded, of none (orphan), or of the good session added after S1.
const hostileEvent = hostileEventOf(['old', 'orphan', 'new'] as const, text, date);
const hostile = fc.record({
  sessions: fc.array(hostileSession, { minLength: 1, maxLength: 5 }),
  events: fc.array(hostileEvent, { minLength: 1, maxLength: 6 }),
  twins: fc.integer({ min: 1, max: 2 }),
});
type Hostile = typeof hostile extends fc.Arbitrary<infer T> ? T : never;

const phase = (tenant: string, source: Record<string, string>, ...args: string[]) =>
  runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], { ...env, ...source });

async function rejectsOf(tenant: string) {
  return (
    await client.query<{ legacy_key: string; reason: string; raw: Record<string, unknown> }>(
      `select legacy_key, reason, raw from vc_migration.rejects where tenant_id = $1 and phase = 's4'`,
      [tenant],
    )
  ).rows;
}

type Step = {
  step_id: string;
  read: number;
  written: number;
  rejected: number;
  deferred: number;
  facts: { backfill?: { candidates: number; created: number; existing: number; rejected: number } };
};
type Outcome = Awaited<ReturnType<typeof checkParticipantEvents>>;

/**
 * loaded + rejected + deferred = read for 4.1 and 4.3, each reading the tenant's whole legacy history
 * again: its session records (loaded, or rejected here or by S1), its participant events (folded,
 * rejected, deferred), its billing records and the Encounter candidates. What the step counts rejected
 * are its reject rows.
 */
async function checkIdentity(tenant: string, source: { sessions: number; events: Outcome; loaded: number }): Promise<void> {
  const steps = (
    await client.query<Step>(
      `select step_id, read, written, rejected, deferred, facts from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's4' and step_id in ('4.1', '4.3') order by step_id`,
      [tenant],
    )
  ).rows;
  const [billing] = (await mariadb.query<mysql.RowDataPacket[]>('select count(*) as n from BillingEvent where tenantId = ?', [tenant]))[0];
  const rejects = (
    await client.query<{ step_id: string; phase: string; session: boolean }>(
      `select step_id, phase, raw ? 'scheduledStart' as session from vc_migration.rejects where tenant_id = $1`,
      [tenant],
    )
  ).rows;
  const sessionRejects = rejects.filter((r) => r.session).length;
  // Every session record: the loaded version of its legacy id, or a reject.
  expect({ sessions: source.sessions, outcomes: source.loaded + sessionRejects }).toEqual({ sessions: source.sessions, outcomes: source.sessions });
  for (const step of steps) {
    const encounters = step.facts.backfill!;
    expect(encounters.created + encounters.existing + encounters.rejected).toBe(encounters.candidates);
    const loaded = source.loaded + source.events.folded + Number(billing!.n) + encounters.created + encounters.existing;
    const rejected = sessionRejects + source.events.rejected + encounters.rejected;
    expect({ step: step.step_id, read: step.read }).toEqual({ step: step.step_id, read: loaded + rejected + source.events.deferred });
    expect({ step: step.step_id, rejected: step.rejected, deferred: step.deferred }).toEqual({
      step: step.step_id,
      rejected: rejects.filter((r) => r.phase === 's4' && r.step_id === step.step_id).length,
      deferred: source.events.deferred,
    });
  }
}

/** A session entered after S1 that already took place, with nothing wrong in it. */
const goodAfterS1 = (tenant: string, updatedAt = EDITED) =>
  session(tenant, {
    patientRef: 'Patient/p-good',
    scheduledStart: '2026-11-20 10:00:00',
    scheduledEnd: '2026-11-20 10:30:00',
    startedAt: '2026-11-20 10:02:00',
    endedAt: '2026-11-20 10:28:00',
    createdAt: EDITED,
    updatedAt,
  });

/**
 * One property run: a tenant with two good sessions and their history goes through S1; legacy then gets
 * hostile sessions and events, a good new session and a good later join; S4 runs. `csv` gives the export
 * directory to read from (both times), with `twins` extra lines repeating a hostile row (its legacy id, a later updatedAt).
 */
async function scenario(tenant: string, input: Hostile, csv?: string): Promise<void> {
  const [old, spare] = await insert('VirtualSession', [session(tenant), session(tenant, { patientRef: 'Patient/p-2' })]);
  await insert('AuditLog', [
    event(tenant, old!),
    event(tenant, old!, { action: 'participant.left', occurredAt: '2026-10-01 10:20:00' }),
    event(tenant, spare!),
  ]);
  const source = (when: string): Record<string, string> => (csv ? { VC_LEGACY_EXPORT_DIR: join(csv, when) } : { VC_LEGACY_DATABASE_URL: legacy.url });
  if (csv) await exportCsv(legacy.url, join(csv, 'before'));
  const s1 = await phase(tenant, source('before'), 'phase', 's1', '--as-of', AS_OF);
  expect(s1.code, s1.error).toBe(0);

  // After S1: edits and new rows, all updated after the watermark so the delta sync reads them.
  const bad = await insert(
    'VirtualSession',
    input.sessions.map((s) => session(tenant, { ...s, createdAt: EDITED, updatedAt: EDITED })),
  );
  const [good] = await insert('VirtualSession', [goodAfterS1(tenant)]);
  const entity = { old: old!, orphan: '999999', new: good! };
  const badEvents = await insert(
    'AuditLog',
    input.events.map((e) =>
      event(tenant, entity[e.entity], { action: e.action, actorRef: e.actorRef, actorDisplay: e.actorDisplay, payload: e.payload, occurredAt: e.occurredAt }),
    ),
  );
  await insert('AuditLog', [
    event(tenant, old!, { actorRef: 'RelatedPerson/rp-good', occurredAt: '2026-10-01 10:05:00' }),
    event(tenant, old!, { actorRef: 'RelatedPerson/rp-good', action: 'participant.left', occurredAt: '2026-10-01 10:15:00' }),
  ]);
  // Each source row: its legacy id and how many times the source holds it (a CSV twin repeats one).
  const lines = new Map(bad.map((id) => [id, 1]));
  if (csv) {
    await exportCsv(legacy.url, join(csv, 'after'));
    const columns = LEGACY_TABLES.VirtualSession.columns;
    for (let i = 0; i < input.twins; i += 1) {
      const id = bad[i % bad.length]!;
      // The same row again, edited later: loaded twice or rejected twice for one reason, unless the edit decides.
      const twin = session(tenant, { ...input.sessions[i % bad.length]!, createdAt: EDITED, updatedAt: `2026-11-1${i + 1} 09:00:00` });
      await appendFile(join(csv, 'after', 'VirtualSession.csv'), `${columns.map((c) => csvField(c === 'id' ? id : (twin[c] ?? null))).join(',')}\n`);
      lines.set(id, lines.get(id)! + 1);
    }
    // An older twin of the good row: the good row still wins, the twin is rejected.
    const stale = session(tenant, { patientRef: 'Patient/p-stale', createdAt: EDITED, updatedAt: '2026-11-09 09:00:00' });
    await appendFile(join(csv, 'after', 'VirtualSession.csv'), `${columns.map((c) => csvField(c === 'id' ? good! : (stale[c] ?? null))).join(',')}\n`);
    lines.set(good!, 2);
  }

  const s4 = await phase(tenant, source('after'), 'phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);
  expect(s4.code, s4.error).toBe(0);
  const report = JSON.parse(s4.stdout) as { steps: Array<{ id: string; status: string; rejected: number }> };
  expect(report.steps.map((s) => [s.id, s.status])).toEqual([
    ['4.1', 'done'],
    ['4.2', 'done'],
    ['4.3', 'done'],
  ]);

  // Every reject names its reason and keeps its raw row; one reject row per rejected source row.
  const rejects = await rejectsOf(tenant);
  expect(rejects.length).toBe(report.steps[0]!.rejected + report.steps[2]!.rejected);
  for (const r of rejects) {
    expect(r.reason).toMatch(/^[a-z_]+$/);
    // A legacy row's reject keeps the row; an Encounter FHIR refused (a loaded session) names its session.
    expect({ reason: r.reason, id: typeof (r.reason === 'encounter_refused' ? r.raw.legacyId : r.raw.id) }).toEqual({ reason: r.reason, id: 'string' });
  }
  const rejectedRows = (id: string, table: 'VirtualSession' | 'AuditLog') =>
    rejects.filter((r) => String(r.raw.id).trim() === id && (table === 'AuditLog') === 'entityId' in r.raw).length;
  const loaded = new Map(
    (
      await client.query<{ legacy_id: string; patient_ref: string; status: string; started_at: Date | null; ended_at: Date | null }>(
        `select legacy_id, patient_ref, status::text, started_at, ended_at from virtual_sessions where tenant_id = $1`,
        [tenant],
      )
    ).rows.map((r) => [r.legacy_id, r]),
  );
  // Each hostile session row is loaded or rejected: the id's loaded row plus its rejects are its source rows.
  for (const [id, times] of lines) expect({ id, rows: (loaded.has(id) ? 1 : 0) + rejectedRows(id, 'VirtualSession') }).toEqual({ id, rows: times });
  // Every participant event of the tenant (S1's and the hostile ones) is folded into its participant,
  // exactly, or rejected: a dropped event changes a join count or an instant (testing/participant-outcomes.ts).
  const events = await mariadb.query<mysql.RowDataPacket[]>(
    `select cast(id as char) as id, entityId, action, actorRef, occurredAt from AuditLog where tenantId = ? and entityType = 'VirtualSession' and action in ('participant.joined', 'participant.left')`,
    [tenant],
  );
  const outcome = await checkParticipantEvents(client, tenant, events[0] as SourceEvent[]);
  expect((events[0] as SourceEvent[]).map((e) => e.id)).toEqual(expect.arrayContaining(badEvents));
  // Per step, every source row read is loaded, rejected (here or by an earlier phase) or deferred.
  const [stored] = (await mariadb.query<mysql.RowDataPacket[]>('select count(*) as n from VirtualSession where tenantId = ?', [tenant]))[0];
  const sessions = Number(stored!.n) + (csv ? input.twins + 1 : 0);
  await checkIdentity(tenant, { sessions, events: outcome, loaded: loaded.size });
  // The good rows land exactly.
  expect(loaded.get(good!)).toEqual({
    legacy_id: good,
    patient_ref: 'Patient/p-good',
    status: 'ended',
    started_at: new Date('2026-11-20T10:02:00Z'),
    ended_at: new Date('2026-11-20T10:28:00Z'),
  });
  const care = await client.query(
    `select p.role::text, p.join_count, p.first_joined_at, p.last_left_at from session_participants p join virtual_sessions s on s.id = p.session_id where s.tenant_id = $1 and s.legacy_id = $2 and p.participant_ref = 'RelatedPerson/rp-good'`,
    [tenant, old],
  );
  expect(care.rows).toEqual([
    { role: 'caregiver', join_count: 1, first_joined_at: new Date('2026-10-01T10:05:00Z'), last_left_at: new Date('2026-10-01T10:15:00Z') },
  ]);
}

describe('property: hostile legacy rows after S1 never stop S4; each is rejected with its raw row or lands', () => {
  let n = 0;
  it('on MariaDB', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (input) => scenario(`s4h-mysql-${(n += 1)}`, input)),
      // Ten runs (about a second each), no long shrinking: each is an S1 and an S4.
      { numRuns: 10, seed: 1517, endOnFailure: true },
    );
  }, 240_000);

  it('on a CSV export, with repeated legacy ids', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (input) => {
        const dir = await mkdtemp(join(work, 'csv-'));
        await scenario(`s4h-csv-${(n += 1)}`, input, dir);
      }),
      { numRuns: 10, seed: 1518, endOnFailure: true },
    );
  }, 240_000);
});

const s4 = (tenant: string, source: Record<string, string>, ...extra: string[]) =>
  phase(tenant, source, 'phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES, ...extra);

/** A session booked after S1 and cancelled, with a NUL in its cancelReason (rejected `invalid_text`), under a chosen id. */
const cancelledAfterS1WithNul = (tenant: string, id: number) =>
  session(tenant, {
    id,
    status: 'cancelled',
    cancelReason: 'patient\u0000sick',
    scheduledStart: '2026-11-20 10:00:00',
    scheduledEnd: '2026-11-20 10:30:00',
    startedAt: null,
    endedAt: null,
    createdAt: EDITED,
    updatedAt: EDITED,
  });

async function loadedOrRejected(tenant: string, legacyId: string) {
  const loaded = await client.query('select legacy_id from virtual_sessions where tenant_id = $1 and legacy_id = $2', [tenant, legacyId]);
  const rejected = await client.query<{ phase: string; step_id: string; reason: string }>(
    `select phase, step_id, reason from vc_migration.rejects where tenant_id = $1 and raw->>'id' = $2 and raw ? 'patientRef'`,
    [tenant, legacyId],
  );
  return { loaded: loaded.rowCount, rejects: rejected.rows };
}

describe('S4 delta sync: a session reject is not hidden by an AuditLog row with the same id rejected for the same reason', () => {
  it('a session created after S1 with a NUL in cancelReason is rejected by 4.1', async () => {
    const tenant = 'rev-collide';
    const [old] = await insert('VirtualSession', [session(tenant)]);
    // An AuditLog row S1 1.4 rejects `invalid_text` (NUL in actorDisplay); its id is 700001.
    await insert('AuditLog', [event(tenant, old!), { ...event(tenant, old!), id: 700001, actorDisplay: 'Dr\u0000X' }]);
    const mysqlSource = { VC_LEGACY_DATABASE_URL: legacy.url };
    const r1 = await phase(tenant, mysqlSource, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    const s1Rejects = await client.query(`select legacy_key, reason, step_id from vc_migration.rejects where tenant_id = $1`, [tenant]);
    expect(s1Rejects.rows).toContainEqual({ legacy_key: '700001', reason: 'invalid_text', step_id: '1.4' });

    // After S1: a new VirtualSession whose auto-increment id happens to be 700001, with a NUL in its cancelReason.
    await insert('VirtualSession', [cancelledAfterS1WithNul(tenant, 700001)]);
    const run = await s4(tenant, mysqlSource);
    expect(run.code, run.error).toBe(0);

    // The session row is quarantined by S4 (the AuditLog row's reject is another row's).
    expect(await loadedOrRejected(tenant, '700001')).toEqual({ loaded: 0, rejects: [{ phase: 's4', step_id: '4.1', reason: 'invalid_text' }] });
  }, 120_000);
});

/**
 * A tenant through S1 from a CSV export, then a session created after S1 (updated at `updatedAt`) exported
 * again with `twin` appended at the end of the export under the same legacy id: its id and the export directory.
 */
async function csvTwinAfterS1(tenant: string, updatedAt: string, twin: LegacyRowValues): Promise<{ id: string; after: Record<string, string> }> {
  await insert('VirtualSession', [session(tenant)]);
  const dir = await mkdtemp(join(work, 'csv-'));
  await exportCsv(legacy.url, join(dir, 'before'));
  const r1 = await phase(tenant, { VC_LEGACY_EXPORT_DIR: join(dir, 'before') }, 'phase', 's1', '--as-of', AS_OF);
  expect(r1.code, r1.error).toBe(0);
  const [id] = await insert('VirtualSession', [goodAfterS1(tenant, updatedAt)]);
  await exportCsv(legacy.url, join(dir, 'after'));
  const columns = LEGACY_TABLES.VirtualSession.columns;
  await appendFile(join(dir, 'after', 'VirtualSession.csv'), `${columns.map((c) => csvField(c === 'id' ? id! : (twin[c] ?? null))).join(',')}\n`);
  return { id: id!, after: { VC_LEGACY_EXPORT_DIR: join(dir, 'after') } };
}

/** The tenant's S4 rejects: key, reason and the raw row's patient (which twin it is). */
async function s4Rejects(tenant: string) {
  const { rows } = await client.query<{ key: string; reason: string; patient: string }>(
    `select legacy_key as key, reason, raw->>'patientRef' as patient from vc_migration.rejects where tenant_id = $1 and phase = 's4'`,
    [tenant],
  );
  return rows;
}

/** A crash of 4.1 right after the batch ending at `record`: its rejects gone with the crash, its cursor there. */
async function crashAfterRecord(tenant: string, record: string): Promise<void> {
  await client.query(`delete from vc_migration.rejects where tenant_id = $1 and phase = 's4'`, [tenant]);
  await client.query(
    `update vc_migration.step_checkpoints set status = 'failed', cursor = $2::jsonb
      where tenant_id = $1 and phase = 's4' and step_id = '4.1'`,
    [tenant, JSON.stringify({ after: record })],
  );
}

describe('S4 delta sync on a CSV export: a duplicate legacy id in a later batch', () => {
  it('the older twin of a session created after S1, in another batch, gets its duplicate_legacy_id reject, also after a resume', async () => {
    const tenant = 'rev-twin';
    // An older twin of the new row at the end of the export (S1 and an in-batch twin reject it `duplicate_legacy_id`).
    const stale = session(tenant, {
      patientRef: 'Patient/p-stale',
      scheduledStart: '2026-11-20 10:00:00',
      createdAt: EDITED,
      updatedAt: '2026-11-11 09:00:00',
    });
    const { id: good, after } = await csvTwinAfterS1(tenant, '2026-11-12 09:00:00', stale);

    // --batch-size 1: the twin is read in a later batch than the row it duplicates.
    const run = await s4(tenant, after, '--batch-size', '1');
    expect(run.code, run.error).toBe(0);
    expect(await s4Rejects(tenant)).toContainEqual(expect.objectContaining({ reason: 'duplicate_legacy_id', patient: 'Patient/p-stale' }));

    // A pass resumed after the newer row's batch (a crash) meets the batches before its cursor again, so the
    // stale twin is still known for one: the reject comes back, though the newer row is no longer in memory.
    const [{ record }] = (
      await client.query<{ record: string }>(`select migrated_from->>'sourceRecord' as record from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [
        tenant,
        good,
      ])
    ).rows as [{ record: string }];
    await crashAfterRecord(tenant, record);
    const resumed = await s4(tenant, after, '--batch-size', '1');
    expect(resumed.code, resumed.error).toBe(0);
    expect(await s4Rejects(tenant)).toEqual([expect.objectContaining({ reason: 'duplicate_legacy_id', patient: 'Patient/p-stale' })]);
  }, 120_000);

  it('a pass resumed with a larger --batch-size still rejects a committed older row whose newer twin sits past the cursor in one batch', async () => {
    const tenant = 'rev-twin-wide';
    // The older version first in the export, its newer twin at the end.
    const newer: LegacyRowValues = { ...goodAfterS1(tenant, '2026-11-12 09:00:00'), patientRef: 'Patient/p-newer' };
    const { after } = await csvTwinAfterS1(tenant, '2026-11-11 09:00:00', newer);

    // One row a batch: the older row is committed, then loses to its twin in a later batch.
    const run = await s4(tenant, after, '--batch-size', '1');
    expect(run.code, run.error).toBe(0);
    const [reject] = await s4Rejects(tenant);
    expect(reject).toMatchObject({ reason: 'duplicate_legacy_id', patient: 'Patient/p-good' });
    // A crash right after the older row's batch, then a resume reading the whole export as one batch: the
    // older row (before the cursor) and its twin (after it) meet in that one batch.
    await crashAfterRecord(tenant, reject!.key.split('#')[1]!);
    const resumed = await s4(tenant, after, '--batch-size', '1000');
    expect(resumed.code, resumed.error).toBe(0);
    expect(await s4Rejects(tenant)).toEqual([reject]);
  }, 120_000);
});

describe('S4 delta sync: a session and an AuditLog row with one id, both rejected for one reason in one step', () => {
  it('keeps both rejects (the AuditLog one keyed AuditLog:<id>) and a re-run adds none', async () => {
    const tenant = 'rev-both';
    const [old] = await insert('VirtualSession', [session(tenant)]);
    await insert('AuditLog', [event(tenant, old!)]);
    const mysqlSource = { VC_LEGACY_DATABASE_URL: legacy.url };
    const r1 = await phase(tenant, mysqlSource, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    // After S1: a session and an AuditLog row of that session, both id 800001, both with a NUL in a text.
    await insert('VirtualSession', [cancelledAfterS1WithNul(tenant, 800001)]);
    await insert('AuditLog', [{ ...event(tenant, old!), id: 800001, actorDisplay: 'Dr\u0000Y', occurredAt: '2026-11-10 09:00:00' }]);
    const run = await s4(tenant, mysqlSource);
    expect(run.code, run.error).toBe(0);
    const keyed = () =>
      client.query<{ step_id: string; legacy_key: string; reason: string; table: string }>(
        `select step_id, legacy_key, reason, case when raw ? 'patientRef' then 'VirtualSession' else 'AuditLog' end as table
           from vc_migration.rejects where tenant_id = $1 and phase = 's4' order by legacy_key`,
        [tenant],
      );
    expect((await keyed()).rows).toEqual([
      { step_id: '4.1', legacy_key: '800001', reason: 'invalid_text', table: 'VirtualSession' },
      { step_id: '4.1', legacy_key: 'AuditLog:800001', reason: 'invalid_text', table: 'AuditLog' },
    ]);
    // 4.3 reads the same rows after the cutover: each is already recorded, by 4.1.
    const again = await s4(tenant, mysqlSource, '--restart-step', '4.3');
    expect(again.code, again.error).toBe(0);
    expect((await keyed()).rows).toHaveLength(2);
  }, 120_000);
});

describe('S4 delta sync: an edit stamped by a legacy clock running behind', () => {
  it('is synced when its updatedAt falls just before the watermark, and a re-run writes nothing', async () => {
    const tenant = 'rev-skew';
    const [old] = await insert('VirtualSession', [session(tenant)]);
    const mysqlSource = { VC_LEGACY_DATABASE_URL: legacy.url };
    const r1 = await phase(tenant, mysqlSource, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    // After S1 read it, legacy cancels the session; its clock is 5 minutes behind the migrator's watermark.
    await mariadb.query("UPDATE VirtualSession SET status = 'cancelled', cancelReason = 'patient ill', updatedAt = '2026-10-31 23:55:00' WHERE id = ?", [old]);
    const run = await s4(tenant, mysqlSource);
    expect(run.code, run.error).toBe(0);
    const stored = () =>
      client.query<{ status: string; cancel_reason: string; version: number }>(
        'select status::text as status, cancel_reason, version from virtual_sessions where tenant_id = $1 and legacy_id = $2',
        [tenant, old],
      );
    const after = (await stored()).rows;
    expect(after.map(({ status, cancel_reason }) => ({ status, cancel_reason }))).toEqual([{ status: 'cancelled', cancel_reason: 'patient ill' }]);
    const again = await s4(tenant, mysqlSource, '--restart-step', '4.1');
    expect(again.code, again.error).toBe(0);
    expect((await stored()).rows).toEqual(after);
  }, 120_000);
});
