import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvField, loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startKongAdminStandIn, type KongAdminStandIn } from '@vc/integrations/kong';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { runInProcess } from './testing/in-process-cli';
import { exportCsv } from './testing/legacy-mutations';
import { insertLegacy, LEGACY_ROUTING, legacyEvent, legacySession, type LegacyValues } from './testing/legacy-rows';
import { hostileDate, hostileEvent as hostileEventOf, hostileText } from '../../testing/hostile-values';
import { checkParticipantEvents, type SourceEvent } from '../../testing/participant-outcomes';

/**
 * Legacy rows changed or added after S1 with hostile values never stop a tenant's S4 delta sync: each
 * bad row is rejected with a reason code and its raw row, every other one lands, and the good rows land
 * exactly. Legacy's schema drifted from the DDL (wider refs, no unique externalId, text datetimes in
 * AuditLog), so the MariaDB here is altered the same way. On MariaDB and on a CSV export (where a
 * legacy id can also repeat).
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';
const EXTERNAL = '0d6b2c7e-5f1a-4c3b-8e2d-7a9f1b3c5d01';
const EDITED = '2026-11-10 09:00:00';

let legacy: TestMysqlDatabase;
let mariadb: mysql.Connection;
let target: TestDatabase;
let client: pg.Client;
let fhir: FhirStandIn;
let kong: KongAdminStandIn;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  [legacy, target, fhir, work] = await Promise.all([
    createTestMysqlDatabase('vc_s4hostile'),
    createTestDatabase(),
    startFhirStandIn(),
    mkdtemp(join(tmpdir(), 'vc-s4-hostile-')),
  ]);
  const { expected } = await loadIntoMysql(legacy.url, {
    tenants: 1,
    sessions: 5,
    auditPerSession: 1,
    seed: 15,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  });
  mariadb = await mysql.createConnection(legacy.url);
  await mariadb.query(
    'ALTER TABLE VirtualSession DROP INDEX idx_VirtualSession_tenantId_patientRef, MODIFY patientRef TEXT NULL, MODIFY practitionerRef TEXT NULL, DROP INDEX uq_VirtualSession_externalId',
  );
  await mariadb.query('ALTER TABLE AuditLog MODIFY actorRef TEXT NULL, MODIFY actorDisplay TEXT NULL, MODIFY occurredAt VARCHAR(40) NULL');
  kong = await startKongAdminStandIn({ initial: LEGACY_ROUTING });
  env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: target.url,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KONG_ADMIN_URL: kong.url,
  };
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await mariadb?.end();
  await Promise.all([target?.drop(), legacy?.drop(), fhir?.close(), kong?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

type Row = LegacyValues;
const session = legacySession;
const event = legacyEvent;
const insert = (table: 'VirtualSession' | 'AuditLog', rows: Row[]) => insertLegacy(mariadb, table, rows);

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
  const [good] = await insert('VirtualSession', [
    session(tenant, {
      patientRef: 'Patient/p-good',
      scheduledStart: '2026-11-20 10:00:00',
      scheduledEnd: '2026-11-20 10:30:00',
      startedAt: '2026-11-20 10:02:00',
      endedAt: '2026-11-20 10:28:00',
      createdAt: EDITED,
      updatedAt: EDITED,
    }),
  ]);
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
