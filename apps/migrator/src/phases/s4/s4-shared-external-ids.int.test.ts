import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { shadowCreateLock } from '@vc/schema';
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhaseSummary } from '../../engine/run-phase';
import type { Phase, RunOptions } from '../../engine/types';
import { createCsvSource } from '../../legacy/csv-source';
import { createMysqlSource } from '../../legacy/mysql-source';
import type { LegacySource } from '../../legacy/types';
import { pgQuery } from '../../testing/counts';
import {
  blockedBy,
  clashOutcome,
  connected,
  exited,
  holdAfterInserting,
  holdAfterRejecting,
  lockWaiter,
  targetTotals,
  until,
  waitingForLock,
} from '../../testing/held-writers';
import { onlyStep, runPhaseHere } from '../../testing/in-process-phase';
import { startMigrator } from '../../testing/run-cli';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { fingerprintChecks, tenantFingerprints } from '../../validate/fingerprints';
import { SessionTally } from '../../validate/session-tally';
import { checkSessionCounts } from '../../validate/sessions';
import { s1Watermark } from '../../validate/watermark';
import { sessionId } from '../s1/ids';
import { s1Phase } from '../s1/steps';
import { startLegacyHarness, type LegacyHarness } from './testing/legacy-harness';
import { exportCsv } from './testing/legacy-mutations';
import { heldInNovember, insertRows, sessionValues } from './testing/legacy-rows';
import { s4Phase } from './steps';

/**
 * Two tenants' legacy rows carry one externalId (one session id, global across tenants), booked after S1, and both
 * tenants' 4.1 delta syncs run at the same moment (`phase s4 --all-tenants`, two operators). The first tenant's
 * transaction is held once it has inserted the shared id, uncommitted; the second tenant's batch then inserts it too,
 * waits for that transaction, and meets it committed. As in S1, the one committed first keeps the id: the second
 * tenant's row is a `duplicate_external_id` reject with its legacy row, the step goes on and counts what a sync run
 * after the first tenant's commit counts, a sync killed while it waits resumes to the same, and validate passes for
 * both tenants. 4.1 used to fail with a raw `virtual_sessions_pkey` violation, since it settled externalIds before its
 * transaction. On MariaDB and on a CSV export. (4.3 runs the same sync, so the same code.)
 */
const S1_AS_OF = '2026-11-01T00:00:00Z';
const S4_AS_OF = '2026-12-01T00:00:00Z';
const HOLD = 4747;

let harness: LegacyHarness;
let mysqlEnv: Record<string, string>;
let csvEnv: Record<string, string>;

/** A pair of tenants whose post-S1 rows share `externalId`; `a` inserts it first, `b`'s row loses it. */
interface Pair {
  a: string;
  b: string;
  externalId: string;
  /** Legacy id of each tenant's row carrying the shared externalId. */
  shared: Record<string, string>;
}

const pair = (name: string, externalId: string): Pair => ({ a: `${name}-a`, b: `${name}-b`, externalId, shared: {} });
/** Serial: a's sync commits before b's starts (b's settle sees the id taken): the counts a race must end with too. */
const SERIAL = pair('serial', '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f01');
const RACE = pair('race', '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f02');
const KILLED = pair('killed', '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f03');
const CSV = pair('csv', '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f04');
/** b cut over: its row with the shared externalId, booked after its 4.1, is 4.3's to load. */
const FINAL = pair('final', '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f05');
/** A tenant whose row's externalId the service takes, in shadow mode, while the row's batch writes (see shadow-twins.ts). */
const TWIN = { tenant: 'twin', externalId: '4f0e9a10-1c2b-4d3e-8f4a-5b6c7d8e9f06', legacyId: '' };
/** Tenants whose row booked after S1 (no externalId) the service makes too, in shadow mode, while the row's batch runs: matched by slot only. */
const SLOT = { tenant: 'slot', legacyId: '' };
const SLOT_LATE = { tenant: 'slot-late', legacyId: '' };
/** Their row's slot: `heldInNovember(tenant, 24)`'s patient, practitioner and scheduled start. */
const SLOT_OF_24 = { patientRef: 'Patient/p-24', practitionerRef: 'Practitioner/d-1', scheduledStart: '2026-11-24T10:00:00.000Z' };

/** Runs `phase` for `tenants` in this process, as `migrator phase` does. */
const run = (env: Record<string, string>, phase: Phase, tenants: string[], asOf: string, more: Partial<RunOptions> = {}) =>
  runPhaseHere(env, { phase, tenants, options: { dryRun: false, batchSize: 500, concurrency: 2, asOf: new Date(asOf), maxRejectRate: 1, ...more } });

const sync = (env: Record<string, string>, tenant: string, more: Partial<RunOptions> = {}) => run(env, onlyStep(s4Phase, '4.1'), [tenant], S4_AS_OF, more);

/** Settles when `promise` does; `ended()` says so, for {@link until}. */
function watched<T>(promise: Promise<T>): { promise: Promise<T>; ended: () => string | undefined } {
  let done: string | undefined;
  promise.then(
    () => (done = 'the run ended'),
    (error: unknown) => (done = `the run failed: ${String(error)}`),
  );
  return { promise, ended: () => done };
}

async function stepCounts(tenant: string) {
  return (
    await pgQuery(harness.client)<{ status: string; read: number; written: number; rejected: number; deferred: number; warnings: Record<string, number> }>(
      `select status, read, written, rejected, deferred, warnings from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's4' and step_id = '4.1'`,
      [tenant],
    )
  )[0];
}

/** What every pair's b must end with: a keeps the id, b's row is one 4.1 reject with its legacy row, nothing of it left. */
async function expectClash(p: Pair, step = '4.1'): Promise<void> {
  expect(await clashOutcome(harness.client, p.externalId, { tenant: p.b, legacyId: p.shared[p.b]! }, step)).toEqual({
    holders: [{ tenant_id: p.a, legacy_id: p.shared[p.a]! }],
    rejects: [{ reason: 'duplicate_external_id', id: p.shared[p.b]!, external: p.externalId }],
    left: 0,
  });
}

/** The b of a pair counts exactly what the serial b counts (its data is the same, but for the tenant and the id). */
async function expectSerialCounts(p: Pair): Promise<void> {
  expect(await stepCounts(p.b)).toEqual(await stepCounts(SERIAL.b));
}

/** sessions.reconciled and fingerprints.sessions, as `migrator validate` runs them on this source. */
async function validated(tenant: string, source: LegacySource) {
  const { db } = harness.handle;
  const watermark = (await s1Watermark(db, tenant))!;
  if (source.kind === 'mysql') {
    const tally = await SessionTally.of(db, source, tenant, watermark);
    const checks = fingerprintChecks(tenant, await tenantFingerprints(db, source, tenant, watermark, 2, tally));
    return { reconciled: tally.result(tenant).status, sessions: checks.find((c) => c.id === 'fingerprints.sessions')!.status };
  }
  const checks = fingerprintChecks(tenant, await tenantFingerprints(db, source, tenant, watermark, 2));
  const reconciled = await checkSessionCounts(db, source, tenant, watermark, 2);
  return { reconciled: reconciled.status, sessions: checks.find((c) => c.id === 'fingerprints.sessions')!.status };
}

/**
 * Starts a's sync and holds it once it has inserted the shared id; then `second` (b's sync) until it waits for a's
 * transaction. The caller lets a go, then awaits `first`, a's sync.
 */
async function crossing(p: Pair, env: Record<string, string>, sub: number, second: () => { ended: () => string | undefined }) {
  await holdAfterInserting(harness.client, { tenantId: p.a, id: p.externalId, key: HOLD, sub });
  const first = watched(sync(env, p.a));
  await until('a holds the shared id', async () => (await waitingForLock(harness.client, HOLD, sub)) === 1, first.ended);
  const holder = await lockWaiter(harness.client, HOLD, sub);
  const b = second();
  await until('b waits for a', async () => (await blockedBy(harness.client, holder)) > 0, b.ended);
  // Wrapped: an async function returning the promise itself would settle only when a's sync does.
  return { first: first.promise };
}

/** a's 4.1 and b's sync (`bSync`, 4.1 unless given) crossing: both done. */
async function bothDone(p: Pair, env: Record<string, string>, sub: number, bSync = () => sync(env, p.b)): Promise<void> {
  let second!: ReturnType<typeof watched<PhaseSummary>>;
  const { first } = await crossing(p, env, sub, () => (second = watched(bSync())));
  await harness.client.query('select pg_advisory_unlock($1, $2)', [HOLD, sub]);
  const [a, b] = await Promise.all([first, second.promise]);
  expect(a.status, JSON.stringify(a.errors)).toBe('done');
  expect(b.status, JSON.stringify(b.errors)).toBe('done');
}

beforeAll(async () => {
  harness = await startLegacyHarness('s4shared', { sessions: 1, seed: 47, asOf: S1_AS_OF });
  // Legacy never enforced a unique externalId everywhere.
  await harness.mariadb.query('ALTER TABLE VirtualSession DROP INDEX uq_VirtualSession_externalId');
  mysqlEnv = { ...harness.env, VC_LEGACY_DATABASE_URL: harness.legacy.url };
  const pairs = [SERIAL, RACE, KILLED, CSV];
  for (const p of pairs)
    for (const tenant of [p.a, p.b]) {
      // One session S1 loads, then two booked after S1 that took place by S4's as-of: one carries the shared externalId.
      const [, shared] = await insertRows(harness.mariadb, 'VirtualSession', [
        sessionValues(tenant),
        heldInNovember(tenant, 20, { externalId: p.externalId }),
        heldInNovember(tenant, 21),
      ]);
      p.shared[tenant] = shared!;
    }
  const dir = join(harness.work, 'export');
  await exportCsv(harness.legacy.url, dir);
  csvEnv = { ...harness.env, VC_LEGACY_EXPORT_DIR: dir };
  for (const tenant of [FINAL.a, FINAL.b]) await insertRows(harness.mariadb, 'VirtualSession', [sessionValues(tenant), heldInNovember(tenant, 21)]);
  [, TWIN.legacyId] = (await insertRows(harness.mariadb, 'VirtualSession', [
    sessionValues(TWIN.tenant),
    heldInNovember(TWIN.tenant, 23, { externalId: TWIN.externalId }),
  ])) as [string, string];
  for (const t of [SLOT, SLOT_LATE])
    [, t.legacyId] = (await insertRows(harness.mariadb, 'VirtualSession', [sessionValues(t.tenant), heldInNovember(t.tenant, 24)])) as [string, string];
  const mysqlTenants = [...[...pairs.filter((p) => p !== CSV), FINAL].flatMap((p) => [p.a, p.b]), TWIN.tenant, SLOT.tenant, SLOT_LATE.tenant];
  expect((await run(mysqlEnv, s1Phase, mysqlTenants, S1_AS_OF)).status).toBe('done');
  expect((await run(csvEnv, s1Phase, [CSV.a, CSV.b], S1_AS_OF)).status).toBe('done');
  expect((await sync(mysqlEnv, SERIAL.a)).status).toBe('done');
  expect((await sync(mysqlEnv, SERIAL.b)).status).toBe('done');
  await expectClash(SERIAL);
}, 180_000);

afterAll(() => harness?.close());

/** The PostgreSQL sessions of the test database. */
const backends = async () =>
  new Set((await pgQuery(harness.client)<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()')).map((r) => r.pid));

describe('s4 4.1, two tenants syncing one externalId at the same moment', { timeout: 60_000 }, () => {
  it('rejects the later claimant duplicate_external_id with its legacy row, both syncs are done, counted as a serial run, validate passes, and a rerun writes nothing', async () => {
    await bothDone(RACE, mysqlEnv, 1);
    await expectClash(RACE);
    await expectSerialCounts(RACE);
    const source = createMysqlSource(harness.legacy.url);
    try {
      for (const tenant of [RACE.a, RACE.b]) expect({ tenant, ...(await validated(tenant, source)) }).toEqual({ tenant, reconciled: 'pass', sessions: 'pass' });
    } finally {
      await source.close();
    }
    const before = await targetTotals(harness.client);
    expect((await sync(mysqlEnv, RACE.b, { restartStep: '4.1' })).status).toBe('done');
    expect(await targetTotals(harness.client)).toEqual(before);
  });

  it('a sync killed after its retry, before its commit, resumes to what a serial run ends with, no reject twice', async () => {
    const known = await backends();
    // Refused once a commits, b's batch settles, writes again and records the reject: held there, uncommitted.
    await holdAfterRejecting(harness.client, { tenantId: KILLED.b, legacyKey: KILLED.shared[KILLED.b]!, key: HOLD, sub: 4 });
    // The whole phase in a child process, as an operator runs it.
    let killed!: ReturnType<typeof startMigrator>;
    const { first } = await crossing(KILLED, mysqlEnv, 2, () => {
      killed = startMigrator(['phase', 's4', '--tenant', KILLED.b, '--as-of', S4_AS_OF, '--max-reject-rate', '1', ...PAST_THE_GATES], mysqlEnv);
      return { ended: exited(killed) };
    });
    await harness.client.query('select pg_advisory_unlock($1, 2)', [HOLD]);
    expect((await first).status).toBe('done');
    await until('b records its reject', async () => (await waitingForLock(harness.client, HOLD, 4)) === 1, exited(killed));
    killed.child.kill('SIGKILL');
    await killed.done;
    await harness.client.query('select pg_advisory_unlock($1, 4)', [HOLD]);
    // The killed run's backend ends once its wait does, its batch rolled back.
    await until('the killed run is gone from PostgreSQL', async () => [...(await backends())].every((pid) => known.has(pid)));
    const resumed = await sync(mysqlEnv, KILLED.b);
    expect(resumed.status, JSON.stringify(resumed.errors)).toBe('done');
    await expectClash(KILLED);
    await expectSerialCounts(KILLED);
    const twice = await pgQuery(harness.client)<{ legacy_key: string }>(
      `select legacy_key from vc_migration.rejects group by tenant_id, phase, step_id, legacy_key, reason having count(*) > 1`,
    );
    expect(twice).toEqual([]);
  });

  it('from a CSV export: the same reject with its CSV row, done, counted as a serial run, and validate passes', async () => {
    await bothDone(CSV, csvEnv, 3);
    await expectClash(CSV);
    await expectSerialCounts(CSV);
    const source = createCsvSource(csvEnv.VC_LEGACY_EXPORT_DIR!);
    for (const tenant of [CSV.a, CSV.b]) expect({ tenant, ...(await validated(tenant, source)) }).toEqual({ tenant, reconciled: 'pass', sessions: 'pass' });
  });
});

describe('s4 4.3, the final sync, claiming an externalId another tenant’s 4.1 commits meanwhile', { timeout: 60_000 }, () => {
  it('rejects the row duplicate_external_id with its legacy row under 4.3, and 4.3 is done', async () => {
    expect((await sync(mysqlEnv, FINAL.b)).status).toBe('done');
    const cutover = await run(mysqlEnv, onlyStep(s4Phase, '4.2'), [FINAL.b], S4_AS_OF, { override: { reason: 'test of the final sync alone' } });
    expect(cutover.status, JSON.stringify(cutover.errors)).toBe('done');
    // Taken by legacy while the cutover was applied: the final sync's.
    for (const tenant of [FINAL.a, FINAL.b]) {
      const [id] = await insertRows(harness.mariadb, 'VirtualSession', [heldInNovember(tenant, 22, { externalId: FINAL.externalId })]);
      FINAL.shared[tenant] = id!;
    }
    await bothDone(FINAL, mysqlEnv, 5, () => run(mysqlEnv, onlyStep(s4Phase, '4.3'), [FINAL.b], S4_AS_OF));
    await expectClash(FINAL, '4.3');
    const [final] = await pgQuery(harness.client)<{ written: number; rejected: number }>(
      `select written, rejected from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's4' and step_id = '4.3'`,
      [FINAL.b],
    );
    // Nothing else changed since 4.1: the one row is the one reject.
    expect(final).toEqual({ written: 0, rejected: 1 });
  });
});

describe('s4 4.1 and a shadow session the service commits under a row’s externalId while the row’s batch writes', { timeout: 60_000 }, () => {
  it('adopts it, as when the service committed first: one session, the legacy row’s, no reject', async () => {
    const service = await connected(harness.target.url);
    try {
      // The service's POST /sessions in shadow mode, uncommitted: no legacy id, its own room, before any cutover.
      await service.query('begin');
      await service.query(
        `insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, video_backend, room_name, version, created_at, updated_at)
         values ($1, $2, null, 'Patient/p-23', 'Practitioner/d-1', '2026-11-23T10:00:00Z', '2026-11-23T10:30:00Z', 'scheduled', 'jitsi', 'vc-twin', 1, '2026-11-10T09:00:00Z', '2026-11-10T09:00:00Z')`,
        [TWIN.externalId, TWIN.tenant],
      );
      const [{ pid }] = (await service.query<{ pid: number }>('select pg_backend_pid() as pid')).rows as [{ pid: number }];
      const synced = watched(sync(mysqlEnv, TWIN.tenant));
      await until('the sync waits for the service', async () => (await blockedBy(harness.client, pid)) > 0, synced.ended);
      await service.query('commit');
      const done = await synced.promise;
      expect(done.status, JSON.stringify(done.errors)).toBe('done');
    } finally {
      await service.end();
    }
    const q = pgQuery(harness.client);
    expect(await q(`select tenant_id, legacy_id, room_name from virtual_sessions where id = $1`, [TWIN.externalId])).toEqual([
      { tenant_id: TWIN.tenant, legacy_id: TWIN.legacyId, room_name: 'vc-twin' },
    ]);
    expect(await q(`select legacy_key, reason from vc_migration.rejects where tenant_id = $1`, [TWIN.tenant])).toEqual([]);
    expect(await q(`select rejected from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's4' and step_id = '4.1'`, [TWIN.tenant])).toEqual([
      { rejected: 0 },
    ]);
  });
});

/** A statement of the shared schema package (drizzle) as text and parameters, for a plain client. */
const dialect = new PgDialect();
const runSql = (client: pg.Client, statement: Parameters<PgDialect['sqlToQuery']>[0]) => {
  const { sql, params } = dialect.sqlToQuery(statement);
  return client.query(sql, params);
};

/** The service's shadow-mode session of the day-24 slot, inserted (as POST /sessions does) by `client`'s open transaction. */
const insertShadow = (client: pg.Client, tenant: string, id: string, room: string) =>
  client.query(
    `insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, video_backend, room_name, version, created_at, updated_at)
     values ($1, $2, null, $3, $4, $5, '2026-11-24T10:30:00Z', 'scheduled', 'jitsi', $6, 1, '2026-11-10T09:00:00Z', '2026-11-10T09:00:00Z')`,
    [id, tenant, SLOT_OF_24.patientRef, SLOT_OF_24.practitionerRef, SLOT_OF_24.scheduledStart, room],
  );

/** The tenant's sessions of the day-24 slot. */
const slotSessions = (tenant: string) =>
  pgQuery(harness.client)<{ id: string; legacy_id: string | null; room_name: string; matched_by: string | null }>(
    `select id, legacy_id, room_name, migrated_from -> 'shadowSession' ->> 'matchedBy' as matched_by from virtual_sessions
      where tenant_id = $1 and scheduled_start = $2 order by legacy_id nulls last`,
    [tenant, SLOT_OF_24.scheduledStart],
  );

describe('s4 4.1 and a shadow session of a row’s slot only (no shared externalId) the service commits while the row’s batch runs', { timeout: 60_000 }, () => {
  it('the service commits after the batch looked for twins: the batch waits for it and adopts it, one session with the legacy id, the service’s id and room', async () => {
    const service = await connected(harness.target.url);
    const shadowId = randomUUID();
    try {
      // The service's POST /sessions in shadow mode, uncommitted: the tenant's shadow lock (shared), its session.
      await service.query('begin');
      await runSql(service, shadowCreateLock(SLOT.tenant));
      await insertShadow(service, SLOT.tenant, shadowId, 'vc-slot-twin');
      const [{ pid }] = (await service.query<{ pid: number }>('select pg_backend_pid() as pid')).rows as [{ pid: number }];
      const synced = watched(sync(mysqlEnv, SLOT.tenant));
      // The batch looks for twins before its transaction and cannot see this one. A batch that does not wait for the
      // service's transaction writes legacy's row beside it: ended here, it leaves two sessions once the service commits.
      await until('the sync waits for the service, or ends', async () => (await blockedBy(harness.client, pid)) > 0 || synced.ended() !== undefined);
      await service.query('commit');
      const done = await synced.promise;
      expect(done.status, JSON.stringify(done.errors)).toBe('done');
    } finally {
      await service.end();
    }
    expect(await slotSessions(SLOT.tenant)).toEqual([{ id: shadowId, legacy_id: SLOT.legacyId, room_name: 'vc-slot-twin', matched_by: 'slot' }]);
    const q = pgQuery(harness.client);
    expect(await q(`select new_id from vc_migration.id_map where tenant_id = $1 and legacy_id = $2`, [SLOT.tenant, SLOT.legacyId])).toEqual([
      { new_id: shadowId },
    ]);
    expect(await q(`select legacy_key, reason from vc_migration.rejects where tenant_id = $1`, [SLOT.tenant])).toEqual([]);
  });

  it('the service creates while the batch holds legacy’s row uncommitted: the create waits for the batch, then finds legacy’s session and makes none', async () => {
    const sub = 6;
    await holdAfterInserting(harness.client, { tenantId: SLOT_LATE.tenant, id: sessionId(SLOT_LATE.tenant, SLOT_LATE.legacyId, null), key: HOLD, sub });
    const synced = watched(sync(mysqlEnv, SLOT_LATE.tenant));
    await until('the batch holds legacy’s row', async () => (await waitingForLock(harness.client, HOLD, sub)) === 1, synced.ended);
    const batch = await lockWaiter(harness.client, HOLD, sub);
    const service = await connected(harness.target.url);
    try {
      // What the service's shadow-mode create does (apps/service sessions/shadow-slot.ts, whose own test sends real
      // requests): the tenant's shadow lock, then a session of the slot loaded from legacy, else a session of its own.
      const created = watched(
        (async () => {
          await service.query('begin');
          await runSql(service, shadowCreateLock(SLOT_LATE.tenant));
          const held = await service.query(
            `select id from virtual_sessions where tenant_id = $1 and patient_ref = $2 and practitioner_ref = $3 and scheduled_start = $4 and legacy_id is not null`,
            [SLOT_LATE.tenant, SLOT_OF_24.patientRef, SLOT_OF_24.practitionerRef, SLOT_OF_24.scheduledStart],
          );
          if (held.rows.length === 0) await insertShadow(service, SLOT_LATE.tenant, randomUUID(), 'vc-slot-late');
          await service.query('commit');
        })(),
      );
      // A create that does not wait for the batch cannot see legacy's row and makes a second session.
      await until('the service waits for the batch, or is done', async () => (await blockedBy(harness.client, batch)) > 0 || created.ended() !== undefined);
      await harness.client.query('select pg_advisory_unlock($1, $2)', [HOLD, sub]);
      const done = await synced.promise;
      expect(done.status, JSON.stringify(done.errors)).toBe('done');
      await created.promise;
    } finally {
      await service.end();
    }
    expect((await slotSessions(SLOT_LATE.tenant)).map(({ id, legacy_id, matched_by }) => ({ id, legacy_id, matched_by }))).toEqual([
      { id: sessionId(SLOT_LATE.tenant, SLOT_LATE.legacyId, null), legacy_id: SLOT_LATE.legacyId, matched_by: null },
    ]);
  });
});
