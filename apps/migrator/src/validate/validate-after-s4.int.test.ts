import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '@vc/domain/checklist';
import { encryptLegacyCredentials } from '@vc/fixtures';
import type { TestMysqlDatabase } from '@vc/fixtures/testing';
import { startKongAdminStandIn } from '@vc/integrations/kong';
import type { DatabaseHandle } from '@vc/schema';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvSource } from '../legacy/csv-source';
import { createMysqlSource } from '../legacy/mysql-source';
import type { LegacySource } from '../legacy/types';
import { runInProcess } from '../phases/s4/testing/in-process-cli';
import { startKongProxy } from '../phases/s4/testing/kong-proxy';
import { startLegacyHarness, type LegacyHarness } from '../phases/s4/testing/legacy-harness';
import { exportCsv } from '../phases/s4/testing/legacy-mutations';
import { insertRows, eventValues, heldInNovember, LEGACY_ROUTING, sessionValues, type LegacyRowValues } from '../phases/s4/testing/legacy-rows';
import { PAST_THE_GATES } from '../testing/past-the-gates';
import { fingerprintChecks, tenantFingerprints, type TableFingerprint } from './fingerprints';
import { deltaSyncScope } from './s4-scope';
import { SessionTally } from './session-tally';
import { checkSessionCounts } from './sessions';
import { s1Watermark } from './watermark';

/**
 * Validate once S4's delta sync ran: the sessions and participants it loaded (created after S1, or upcoming
 * at S1's as-of) are compared as S4 mapped them, on the streamed MySQL path and the per-id CSV path, so one
 * lost or changed fails the check that names it; a healthy tenant, with sessions still upcoming at S4's
 * as-of and sessions the service has run since the cutover, passes. Before S4 nothing changes.
 */
const S1_AS_OF = '2026-11-01T00:00:00Z';
const S4_AS_OF = '2026-12-01T00:00:00Z';

let legacy: TestMysqlDatabase;
let mariadb: mysql.Connection;
let client: pg.Client;
let handle: DatabaseHandle;
let work: string;
let env: Record<string, string>;

let harness: LegacyHarness;

beforeAll(async () => {
  harness = await startLegacyHarness('validate_s4', { sessions: 3, seed: 5, asOf: S1_AS_OF });
  ({ legacy, mariadb, client, handle, work } = harness);
  env = { ...harness.env, VC_LEGACY_DATABASE_URL: legacy.url };
}, 180_000);

afterAll(() => harness?.close());

type Row = LegacyRowValues;
const session = sessionValues;
const event = eventValues;
const held = heldInNovember;

const insert = (table: 'VirtualSession' | 'AuditLog', rows: Row[]) => insertRows(mariadb, table, rows);

const phase = (tenant: string, ...args: string[]) => runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], env);

interface Verdicts {
  reconciled: CheckResult;
  checks: Record<string, CheckResult>;
  fingerprints: TableFingerprint[];
}

/**
 * `sessions.reconciled` and `fingerprints.*` as `migrator validate` runs them: on MySQL the tally is fed by the
 * streamed pass (the per-id maps take over for a table whose sums differ); on CSV both read on their own.
 */
async function validate(tenant: string, source: LegacySource): Promise<Verdicts> {
  const watermark = (await s1Watermark(handle.db, tenant))!;
  if (source.kind === 'mysql') {
    const tally = await SessionTally.of(handle.db, source, tenant, watermark);
    const fingerprints = await tenantFingerprints(handle.db, source, tenant, watermark, 2, tally);
    expect(tally.ended).toBe(true);
    return { reconciled: tally.result(tenant), checks: byId(fingerprintChecks(tenant, fingerprints)), fingerprints };
  }
  const fingerprints = await tenantFingerprints(handle.db, source, tenant, watermark, 2);
  const reconciled = await checkSessionCounts(handle.db, source, tenant, watermark, 2);
  return { reconciled, checks: byId(fingerprintChecks(tenant, fingerprints)), fingerprints };
}
const byId = (checks: CheckResult[]) => Object.fromEntries(checks.map((c) => [c.id, c]));
const statuses = (v: Verdicts) => ({
  reconciled: v.reconciled.status,
  sessions: v.checks['fingerprints.sessions']!.status,
  participants: v.checks['fingerprints.participants']!.status,
});
const ALL_PASS = { reconciled: 'pass', sessions: 'pass', participants: 'pass' };

/** Both paths over the same legacy data: MySQL streamed, and a CSV export of it (per id). */
async function onBothPaths(tenant: string, label: string): Promise<Record<'mysql' | 'csv', Verdicts>> {
  const mysqlSource = createMysqlSource(legacy.url);
  const dir = await mkdtemp(join(work, `${label}-`));
  try {
    await exportCsv(legacy.url, dir);
    return { mysql: await validate(tenant, mysqlSource), csv: await validate(tenant, createCsvSource(dir)) };
  } finally {
    await mysqlSource.close();
  }
}

describe('validate after S4 compares the sessions and participants S4 loaded', () => {
  const tenant = 'after-s4';
  /** Legacy ids: created after S1 (a with participants, b), upcoming at S1's as-of (c: held before S4's as-of), upcoming at S4's (u). */
  let ids: Record<'a' | 'b' | 'c' | 'u', string>;

  beforeAll(async () => {
    const [old] = await insert('VirtualSession', [session(tenant)]);
    await insert('AuditLog', [event(tenant, old!), event(tenant, old!, { action: 'participant.left', occurredAt: '2026-10-01 10:20:00' })]);
    // Booked before S1's as-of for after it: S1 defers it, S4 loads it as held.
    const [c] = await insert('VirtualSession', [held(tenant, 15, { createdAt: '2026-10-20 08:00:00', updatedAt: '2026-10-20 08:00:00' })]);
    const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
    expect(r1.code, r1.error).toBe(0);
    const [a, b] = await insert('VirtualSession', [held(tenant, 20), held(tenant, 21)]);
    // Still upcoming at S4's as-of: S4 loads it `scheduled`, for the service to run.
    const [u] = await insert('VirtualSession', [
      held(tenant, 28, { scheduledStart: '2026-12-05 10:00:00', scheduledEnd: '2026-12-05 10:30:00', startedAt: null, endedAt: null, status: 'scheduled' }),
    ]);
    await insert('AuditLog', [
      event(tenant, a!, { occurredAt: '2026-11-20 10:03:00' }),
      event(tenant, a!, { actorRef: 'Patient/p-20', occurredAt: '2026-11-20 10:04:00' }),
      event(tenant, c!, { occurredAt: '2026-11-15 10:03:00' }),
    ]);
    ids = { a: a!, b: b!, c: c!, u: u! };
    const s4 = await phase(tenant, 'phase', 's4', '--as-of', S4_AS_OF, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);
    expect(s4.code, s4.error).toBe(0);
  }, 180_000);

  it('reads the sync that completed and the as-of it mapped rows at (4.3 supersedes 4.1)', async () => {
    expect(await deltaSyncScope(handle.db, tenant)).toEqual({ step: '4.3', asOf: new Date(S4_AS_OF) });
    const loaded = await client.query<{ legacy_id: string; status: string }>(
      'select legacy_id, status::text from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[]) order by legacy_id::bigint',
      [tenant, Object.values(ids)],
    );
    expect(Object.fromEntries(loaded.rows.map((r) => [r.legacy_id, r.status]))).toEqual({
      [ids.a]: 'ended',
      [ids.b]: 'ended',
      [ids.c]: 'ended',
      [ids.u]: 'scheduled',
    });
  });

  it('a healthy tenant passes every check on both paths, with a session still upcoming at S4 as-of', async () => {
    const v = await onBothPaths(tenant, 'healthy');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    // Every session is compared now: nothing is deferred, S4's are in both sides.
    expect(v.mysql.reconciled.actual).toMatchObject({ deferred: 0 });
    // S4's sessions are in both sides: S1's one and S4's four; participants of S1's, a's and c's (u is upcoming).
    for (const path of [v.mysql, v.csv]) {
      const rows = Object.fromEntries(path.fingerprints.map((f) => [f.table, [f.legacy.rows, f.target.rows]]));
      expect(rows).toMatchObject({ sessions: [5, 5], participants: [3, 3] });
    }
    expect(v.mysql.fingerprints.map((f) => f.legacy.digest)).toEqual(v.csv.fingerprints.map((f) => f.legacy.digest));
  }, 120_000);

  it('a session the service ran since the cutover is the service’s: left out of both sides, named, and still passing', async () => {
    // What the service does when it runs a session: new columns, its own participants, a later updated_at.
    await client.query(
      `update virtual_sessions set status = 'ended', started_at = '2026-12-05T10:01:00Z', ended_at = '2026-12-05T10:29:00Z',
              version = version + 1, updated_at = now() where tenant_id = $1 and legacy_id = $2`,
      [tenant, ids.u],
    );
    await client.query(
      `insert into session_participants (session_id, tenant_id, participant_ref, role, first_joined_at, join_count, source)
       select id, tenant_id, 'Practitioner/d-1', 'practitioner', '2026-12-05T10:01:00Z', 1, 'live' from virtual_sessions where tenant_id = $1 and legacy_id = $2`,
      [tenant, ids.u],
    );
    const v = await onBothPaths(tenant, 'service');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    for (const path of [v.mysql, v.csv]) expect(path.fingerprints.find((f) => f.table === 'sessions')!.changedSinceMigration).toEqual([ids.u]);
  }, 120_000);

  it('a changed session, lost participants and a deleted session that S4 loaded each fail the check that names them', async () => {
    await client.query(
      `update virtual_sessions set patient_ref = 'Patient/SOMEONE-ELSE', status = 'cancelled', cancel_reason = 'x', started_at = null
        where tenant_id = $1 and legacy_id = $2`,
      [tenant, ids.a],
    );
    await client.query(`delete from session_participants where session_id = (select id from virtual_sessions where tenant_id = $1 and legacy_id = $2)`, [
      tenant,
      ids.c,
    ]);
    await client.query(`delete from vc_migration.id_map where tenant_id = $1 and legacy_id = $2`, [tenant, ids.b]);
    await client.query(`delete from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [tenant, ids.b]);
    const v = await onBothPaths(tenant, 'tampered');
    for (const path of [v.mysql, v.csv]) {
      expect(statuses(path)).toEqual({ reconciled: 'fail', sessions: 'fail', participants: 'fail' });
      expect(path.reconciled.samples).toEqual([`VirtualSession:${ids.b}`]);
      expect(path.checks['fingerprints.sessions']!.samples).toEqual(expect.arrayContaining([`VirtualSession:${ids.a}`, `VirtualSession:${ids.b}`]));
      expect(path.checks['fingerprints.participants']!.samples).toContain(`VirtualSession:${ids.c}`);
      // The session the service ran stays the service's, not a difference.
      expect(path.checks['fingerprints.sessions']!.samples).not.toContain(`VirtualSession:${ids.u}`);
    }
  }, 120_000);
});

describe('4.1 and 4.3 run at different as-ofs (4.2 run again later)', () => {
  it('a session upcoming at the first sync and past at the last, never touched by legacy again, is mapped at the last, and validate passes', async () => {
    const tenant = 'split-s4';
    const [old] = await insert('VirtualSession', [session(tenant)]);
    await insert('AuditLog', [event(tenant, old!)]);
    const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
    expect(r1.code, r1.error).toBe(0);
    // Booked after S1 for 25 November, never started and never edited again in legacy: a no-show.
    const [noShow] = await insert('VirtualSession', [held(tenant, 25, { startedAt: null, endedAt: null, status: 'scheduled' })]);
    const gates = ['--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES];
    const first = await phase(tenant, 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates);
    expect(first.code, first.error).toBe(0);
    const status = async () =>
      (await client.query<{ status: string }>('select status::text from virtual_sessions where tenant_id = $1 and legacy_id = $2', [tenant, noShow])).rows[0]
        ?.status;
    expect(await status()).toBe('scheduled');
    // The final sync again, after the 25th: the session is past, and maps as S1 maps a session that never started.
    const last = await phase(tenant, 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    expect(last.code, last.error).toBe(0);
    expect(await status()).toBe('cancelled');
    const v = await onBothPaths(tenant, 'split');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    // And once more: nothing left to change.
    const again = await phase(tenant, 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    expect(again.code, again.error).toBe(0);
    expect(JSON.parse(again.stdout.slice(again.stdout.indexOf('{'))).steps.find((st: { id: string }) => st.id === '4.3')).toMatchObject({ written: 0 });
  }, 180_000);
});

describe('validate before S4 scopes by S1 watermark, as before', () => {
  it('sessions created after S1 are deferred and compared by no side until a delta sync loaded them', async () => {
    const tenant = 'before-s4';
    await insert('VirtualSession', [session(tenant)]);
    const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
    expect(r1.code, r1.error).toBe(0);
    await insert('VirtualSession', [held(tenant, 20)]);
    expect(await deltaSyncScope(handle.db, tenant)).toBeUndefined();
    const v = await onBothPaths(tenant, 'before');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    expect(v.mysql.reconciled.actual).toMatchObject({ loaded: 1, deferred: 1 });
    expect(v.csv.reconciled.actual).toMatchObject({ loaded: 1, deferred: 1 });
  }, 120_000);
});

/** 4.1 as the tenant's last S4 step, as a refused 4.2 leaves it; with `status`, as a crash in its sessions stage leaves it. */
async function keepOnly41(tenant: string, checkpoint41: { status?: 'failed'; after?: string } = {}): Promise<void> {
  await client.query(`delete from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's4' and step_id in ('4.2', '4.3')`, [tenant]);
  if (checkpoint41.status)
    await client.query(`update vc_migration.step_checkpoints set status = $2, cursor = $3::jsonb where tenant_id = $1 and phase = 's4' and step_id = '4.1'`, [
      tenant,
      checkpoint41.status,
      JSON.stringify({ after: checkpoint41.after }),
    ]);
}

const sessionRows = (v: Verdicts) => [
  v.fingerprints.find((f) => f.table === 'sessions')!.legacy.rows,
  v.fingerprints.find((f) => f.table === 'sessions')!.target.rows,
];
const gates = ['--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES];

/** Two historical sessions through S1, then `heldDays` sessions created after it: the legacy id of the second (to edit later) and theirs. */
async function throughS1(tenant: string, heldDays: number[] = []): Promise<{ edited: string; held: string[] }> {
  const [, edited] = await insert('VirtualSession', [session(tenant), session(tenant, { patientRef: 'Patient/p-2' })]);
  const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
  expect(r1.code, r1.error).toBe(0);
  const later =
    heldDays.length > 0
      ? await insert(
          'VirtualSession',
          heldDays.map((day) => held(tenant, day)),
        )
      : [];
  return { edited: edited!, held: later };
}

/** Validate on both paths passes every check, comparing `sessions` sessions on each side. */
async function passesComparing(tenant: string, label: string, sessions: number): Promise<Record<'mysql' | 'csv', Verdicts>> {
  const v = await onBothPaths(tenant, label);
  expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
  expect({ mysql: sessionRows(v.mysql), csv: sessionRows(v.csv) }).toEqual({ mysql: [sessions, sessions], csv: [sessions, sessions] });
  return v;
}

/** Legacy's edit of a session's practitioner, stamped `updatedAt` by legacy's clock. */
const editInLegacy = (id: string, updatedAt: string) =>
  mariadb.query('update VirtualSession set practitionerRef = ?, updatedAt = ? where id = ?', ['Practitioner/d-9', updatedAt, id]);

const runS4 = async (tenant: string) => {
  const s4 = await phase(tenant, 'phase', 's4', '--as-of', S4_AS_OF, ...gates);
  expect(s4.code, s4.error).toBe(0);
};

describe('legacy keeps taking writes until the cutover: validate leaves what a later sync loads to that sync', () => {
  it('before S4, a historical session edited in legacy after S1 is compared by no side; once S4 synced the edit, it is compared', async () => {
    const tenant = 'edited-before-s4';
    const { edited } = await throughS1(tenant);
    await editInLegacy(edited, '2026-11-05 09:00:00');
    // Only the session legacy did not touch since S1 is compared.
    await passesComparing(tenant, 'edited-before', 1);

    await runS4(tenant);
    await passesComparing(tenant, 'edited-after', 2);
  }, 180_000);

  it('before S4, a participant event legacy logged after S1 for a session it did not touch is left to S4; once S4 folded it, it is compared', async () => {
    const tenant = 'late-event-before-s4';
    const { edited } = await throughS1(tenant);
    // A late audit row (delayed ingestion): the session row itself is untouched since S1.
    await insert('AuditLog', [event(tenant, edited, { actorRef: 'Patient/p-2', occurredAt: '2026-10-01 10:05:00' })]);
    await passesComparing(tenant, 'late-event-before', 1);

    await runS4(tenant);
    const v = await passesComparing(tenant, 'late-event-after', 2);
    expect(v.mysql.fingerprints.find((f) => f.table === 'participants')!.target.rows).toBe(1);
  }, 180_000);

  it('between 4.1 and 4.3, an edit stamped by a legacy clock running behind 4.1’s as-of is left to 4.3', async () => {
    const tenant = 'skew-after-41';
    const { edited } = await throughS1(tenant, [20]);
    await runS4(tenant);
    // As if 4.2 had been refused: 4.1 is the last sync. Legacy then took an edit, stamped 10 minutes before 4.1's as-of.
    await keepOnly41(tenant);
    expect(await deltaSyncScope(handle.db, tenant)).toEqual({ step: '4.1', asOf: new Date(S4_AS_OF) });
    await editInLegacy(edited, '2026-11-30 23:50:00');
    // S1's untouched session and the one 4.1 loaded are compared; the late edit is 4.3's.
    await passesComparing(tenant, 'skew', 2);
  }, 180_000);

  it('between 4.1 and 4.3, a participant event legacy logged after 4.1 folded the history is left to 4.3', async () => {
    const tenant = 'late-event-after-41';
    const { edited } = await throughS1(tenant);
    await runS4(tenant);
    await keepOnly41(tenant);
    await insert('AuditLog', [event(tenant, edited, { actorRef: 'Patient/p-2', occurredAt: '2026-10-01 10:05:00' })]);
    await passesComparing(tenant, 'late-event-41', 1);
  }, 180_000);

  it('after a sessions stage of 4.1 interrupted midway, validate scopes as before S4 and passes', async () => {
    const tenant = 'interrupted-41';
    const {
      edited,
      held: [a, b],
    } = await throughS1(tenant, [20, 21]);
    await runS4(tenant);
    // A crash after the batch ending at session a: b's batch never committed. Legacy took an edit of a
    // historical session since (the target keeps the copy S1 loaded).
    await keepOnly41(tenant, { status: 'failed', after: a! });
    await client.query(`delete from vc_migration.id_map where tenant_id = $1 and legacy_id = $2`, [tenant, b]);
    await client.query(`delete from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [tenant, b]);
    await editInLegacy(edited, '2026-11-20 09:00:00');
    expect(await deltaSyncScope(handle.db, tenant)).toBeUndefined();
    // S1's untouched session alone is compared: a and b (created after S1) and the edit are the sync's to finish.
    const v = await passesComparing(tenant, 'interrupted', 1);
    expect(v.mysql.reconciled.actual).toMatchObject({ loaded: 3, deferred: 1 });
  }, 180_000);
});

describe('a 4.1 resumed by a run with a later as-of', () => {
  it('maps the rest at the as-of of the interrupted run, so validate between 4.1 and 4.3 compares every row at one as-of', async () => {
    const tenant = 'resumed-41';
    const first = '2026-11-20T00:00:00Z';
    await throughS1(tenant);
    // Booked after S1 for the 25th and 26th of November, never held: upcoming at the first as-of, past at the second.
    const noShows = await insert(
      'VirtualSession',
      [25, 26].map((day) => held(tenant, day, { startedAt: null, endedAt: null, status: 'scheduled' })),
    );
    // A Kong of its own, still routing to legacy (other tests cut the shared one over), that refuses writes: 4.2
    // fails each time, so 4.1 stays the last sync.
    const kong = await startKongAdminStandIn({ initial: LEGACY_ROUTING });
    const proxy = await startKongProxy(kong.url);
    proxy.failWrites = true;
    const s4 = (asOf: string) =>
      runInProcess(['phase', 's4', '--tenant', tenant, '--max-reject-rate', '1', '--json', '--as-of', asOf, ...gates], {
        ...env,
        VC_KONG_ADMIN_URL: proxy.url,
      });
    try {
      expect((await s4(first)).code).toBe(1);
      // A crash of 4.1 right after the first no-show's batch; the operator resumes days later.
      await keepOnly41(tenant, { status: 'failed', after: noShows[0]! });
      expect((await s4(S4_AS_OF)).code).toBe(1);
    } finally {
      await proxy.close();
      await kong.close();
    }
    expect(await deltaSyncScope(handle.db, tenant)).toEqual({ step: '4.1', asOf: new Date(first) });
    const loaded = await client.query<{ status: string }>(
      'select status::text from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[]) order by legacy_id::bigint',
      [tenant, noShows],
    );
    expect(loaded.rows.map((r) => r.status)).toEqual(['scheduled', 'scheduled']);
    await passesComparing(tenant, 'resumed-41', 4);
  }, 180_000);
});

describe('who wrote a row last is told by versions, not by legacy’s clock', () => {
  const gates = ['--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES];
  const json = (run: { stdout: string }) =>
    JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { warnings: Record<string, number>; steps: Array<{ id: string; written: number }> };
  const sessionsOf = (v: Verdicts) => v.fingerprints.find((f) => f.table === 'sessions')!;
  const stored = async (tenant: string, id: string) =>
    (
      await client.query<{ practitioner_ref: string; ended_at: Date }>(
        'select practitioner_ref, ended_at from virtual_sessions where tenant_id = $1 and legacy_id = $2',
        [tenant, id],
      )
    ).rows[0];
  /** S1 loads a session stamped 23:50; legacy, its clock set back, then edits it stamped 23:20 (within the hour S4 reads back). */
  async function editedWithClockBack(tenant: string): Promise<string> {
    const [id] = await insert('VirtualSession', [session(tenant, { updatedAt: '2026-10-31 23:50:00' })]);
    const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
    expect(r1.code, r1.error).toBe(0);
    await mariadb.query(`update VirtualSession set practitionerRef = 'Practitioner/d-2', updatedAt = '2026-10-31 23:20:00' where id = ?`, [id]);
    return id!;
  }

  it('a legacy edit stamped before the updatedAt S1 loaded is synced by S4, compared by validate, and written once', async () => {
    const tenant = 'clock-back';
    const id = await editedWithClockBack(tenant);
    const s4 = await phase(tenant, 'phase', 's4', '--as-of', S4_AS_OF, ...gates);
    expect(s4.code, s4.error).toBe(0);
    expect(json(s4).warnings.session_changed_by_service).toBeUndefined();
    expect((await stored(tenant, id))!.practitioner_ref).toBe('Practitioner/d-2');
    const v = await onBothPaths(tenant, 'clock-back');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    for (const path of [v.mysql, v.csv]) expect(sessionsOf(path)).toMatchObject({ changedSinceMigration: [], legacy: { rows: 1 }, target: { rows: 1 } });
    // Nothing changed since: a re-run writes nothing and warns of nothing.
    const again = await phase(tenant, 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    expect(again.code, again.error).toBe(0);
    expect(json(again).steps.find((st) => st.id === '4.3')).toMatchObject({ written: 0 });
    expect(json(again).warnings.session_changed_by_service).toBeUndefined();
  }, 180_000);

  it('the same edit on a session the service changed since (its clock behind legacy’s) keeps the service’s, counted, and validate leaves it to the service', async () => {
    const tenant = 'clock-back-service';
    const id = await editedWithClockBack(tenant);
    // As the service writes a session (apps/service/src/sessions/repo.ts): its change, version + 1, updated_at by its own
    // clock, here earlier than legacy's stamp of the edit.
    await client.query(
      `update virtual_sessions set ended_at = '2026-10-01T10:29:00Z', version = version + 1, updated_at = '2026-10-31T23:10:00Z' where tenant_id = $1 and legacy_id = $2`,
      [tenant, id],
    );
    const s4 = await phase(tenant, 'phase', 's4', '--as-of', S4_AS_OF, ...gates);
    expect(s4.code, s4.error).toBe(0);
    // Met by 4.1 and again by 4.3: legacy's edit is never written over the service's change, and each sync says so.
    expect(json(s4).warnings.session_changed_by_service).toBe(2);
    expect(await stored(tenant, id)).toEqual({ practitioner_ref: 'Practitioner/d-1', ended_at: new Date('2026-10-01T10:29:00Z') });
    const v = await onBothPaths(tenant, 'clock-back-service');
    expect({ mysql: statuses(v.mysql), csv: statuses(v.csv) }).toEqual({ mysql: ALL_PASS, csv: ALL_PASS });
    for (const path of [v.mysql, v.csv]) expect(sessionsOf(path).changedSinceMigration).toEqual([id]);
  }, 180_000);

  /** A legacy config of `tenant` whose credentials decrypt (or, `broken`, do not). */
  async function legacyConfig(tenant: string, broken = false): Promise<void> {
    const credentials = broken ? 'bm90IGEgYmxvYg==' : encryptLegacyCredentials('s3cret', harness.masterKey, tenant, Buffer.alloc(12, 7));
    await mariadb.query('INSERT INTO TenantVirtualCareConfig SET ?', [
      { tenantId: tenant, jitsiServerUrl: 'https://meet.test', jitsiAppId: 'app', credentials, branding: null, enabled: 1, updatedAt: '2026-10-15 08:00:00' },
    ]);
    await insert('VirtualSession', [session(tenant)]);
    const r1 = await phase(tenant, 'phase', 's1', '--as-of', S1_AS_OF);
    expect(r1.code, r1.error).toBe(0);
  }
  const configOf = async (tenant: string) =>
    (await client.query<{ jitsi_app_id: string }>('select jitsi_app_id from tenant_virtual_care_configs where tenant_id = $1', [tenant])).rows[0];
  const configsFingerprint = async (tenant: string) => {
    const source = createMysqlSource(legacy.url);
    try {
      const fingerprints = await tenantFingerprints(handle.db, source, tenant, (await s1Watermark(handle.db, tenant))!, 2);
      return fingerprints.find((f) => f.table === 'configs')!;
    } finally {
      await source.close();
    }
  };
  const rerun13 = (tenant: string) => phase(tenant, 'phase', 's1', '--restart-step', '1.3', '--as-of', S1_AS_OF);

  it('a config an earlier release’s 2.2 stamped (version 1, updated_at later than legacy’s) takes legacy’s later change and is compared', async () => {
    const tenant = 'cfg-stamped';
    await legacyConfig(tenant);
    // As an earlier release left it: 2.2 stamped the time of its test, no mark (this release's migration then marks it).
    await client.query(`update tenant_virtual_care_configs set updated_at = now(), migrated_version = null where tenant_id = $1`, [tenant]);
    const migration = await readFile(new URL('../../../../packages/schema/drizzle/0023_migrated_version.sql', import.meta.url), 'utf8');
    const backfill = migration.split('--> statement-breakpoint').find((statement) => statement.includes('UPDATE "tenant_virtual_care_configs"'))!;
    await client.query(backfill);
    await mariadb.query(`update TenantVirtualCareConfig set jitsiAppId = 'app-later', updatedAt = '2026-11-20 08:00:00' where tenantId = ?`, [tenant]);
    const again = await rerun13(tenant);
    expect(again.code, again.error).toBe(0);
    expect(json(again).warnings.config_changed_by_service).toBeUndefined();
    expect(await configOf(tenant)).toEqual({ jitsi_app_id: 'app-later' });
    expect(await configsFingerprint(tenant)).toMatchObject({ equal: true, changedSinceMigration: [], legacy: { rows: 1 }, target: { rows: 1 } });
  }, 180_000);

  it('a config the service created where S1 left none (its clock behind legacy’s) stays the service’s on a re-run, and is not compared', async () => {
    const tenant = 'cfg-service';
    await legacyConfig(tenant, true);
    expect(await configOf(tenant)).toBeUndefined();
    // As PUT /config creates a config (apps/service/src/tenant-config/repo.ts): version 1, updated_at by the service's clock.
    await client.query(
      `insert into tenant_virtual_care_configs (tenant_id, jitsi_server_url, jitsi_app_id, credentials_ciphertext, kms_key_id, updated_at)
       values ($1, 'https://meet.new.test', 'app-service', 'ciphertext', 'local', '2026-11-05T08:00:00Z')`,
      [tenant],
    );
    // Legacy's credentials are repaired later; the operator re-runs 1.3.
    const credentials = encryptLegacyCredentials('s3cret', harness.masterKey, tenant, Buffer.alloc(12, 7));
    await mariadb.query(`update TenantVirtualCareConfig set credentials = ?, updatedAt = '2026-11-20 08:00:00' where tenantId = ?`, [credentials, tenant]);
    const again = await rerun13(tenant);
    expect(again.code, again.error).toBe(0);
    expect(json(again).warnings.config_changed_by_service).toBe(1);
    expect(await configOf(tenant)).toEqual({ jitsi_app_id: 'app-service' });
    expect(await configsFingerprint(tenant)).toMatchObject({ equal: true, changedSinceMigration: [tenant] });
  }, 180_000);
});
