import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, queryRows, shadowAdoptLock } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { configureTenant, type Harness, practitioner, type Reply, startHarness } from '../testing/harness';

/**
 * A shadow-mode create and the migrator's delta sync (S4) loading legacy's copy of the same appointment, made to
 * cross in a chosen order with no timing luck: a transaction standing for an S4 batch takes the tenant's shadow lock
 * as S4 does and inserts legacy's session of the slot, uncommitted; the create is sent; the test waits until
 * PostgreSQL shows the create waiting for that transaction (pg_blocking_pids), then commits it.
 */
const API = '/api/v1/virtual-care';
const TENANT = 'acme';

/** One appointment: a practitioner's patient at a start. */
const slot = (day: number) => {
  const date = `2026-03-${String(day).padStart(2, '0')}`;
  return { patientRef: 'Patient/pt-1', scheduledStart: `${date}T10:00:00.000Z`, scheduledEnd: `${date}T10:30:00.000Z` };
};

/** Legacy's session of `day`'s slot as S4 loads it: a legacy id, its own id and room. */
const loadLegacy = (db: Database, day: number, legacyId: string) => {
  const id = randomUUID();
  const s = slot(day);
  return db.execute(sql`insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status,
      video_backend, room_name, version, created_at, updated_at)
    values (${id}, ${TENANT}, ${legacyId}, ${s.patientRef}, 'Practitioner/p-1', ${s.scheduledStart}, ${s.scheduledEnd}, 'scheduled', 'jitsi',
      ${`vc-legacy-${legacyId}`}, 1, '2026-02-20T09:00:00Z', '2026-02-20T09:00:00Z')`);
};

/** An S4 batch held open: the tenant's shadow lock taken exclusively, legacy's session of `day` inserted, not committed. */
async function heldBatch(h: Harness, day: number, legacyId: string): Promise<{ pid: number; commit: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: (pid: number) => void;
  const held = new Promise<number>((resolve) => (holding = resolve));
  const done = h.db.db.transaction(async (tx) => {
    await tx.execute(shadowAdoptLock(TENANT));
    await loadLegacy(tx as unknown as Database, day, legacyId);
    const [{ pid }] = (await queryRows<{ pid: number }>(tx as unknown as Database, sql`select pg_backend_pid() as pid`)) as [{ pid: number }];
    holding(pid);
    await released;
  });
  const pid = await Promise.race([held, done.then(() => Promise.reject(new Error('the batch ended before it held the lock')))]);
  return {
    pid,
    commit: async () => {
      release();
      await done;
    },
  };
}

/** How many sessions of the database wait for the session `pid`. */
const blockedBy = async (h: Harness, pid: number) =>
  (await queryRows<{ n: number }>(h.db.db, sql`select count(*)::int as n from pg_stat_activity where ${pid} = any(pg_blocking_pids(pid))`))[0]!.n;

/** The tenant's sessions of `day`'s slot. */
const sessionsOf = (h: Harness, day: number) =>
  queryRows<{ legacy_id: string | null }>(
    h.db.db,
    sql`select legacy_id from virtual_sessions where tenant_id = ${TENANT} and scheduled_start = ${slot(day).scheduledStart} order by legacy_id nulls last`,
  );

const create = (h: Harness, day: number, as = practitioner(TENANT)) =>
  h.call<{ type: string; sessionId?: string; id?: string }>('POST', `${API}/sessions`, { as, body: slot(day) });

describe('shadow mode: a create of an appointment the migrator loads from legacy', { timeout: 30_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'shadow', fhir: false });
    await configureTenant(h, TENANT);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('waits for the S4 batch loading it, then answers 409 slot-migrated naming legacy’s session, and makes no second session', async () => {
    const batch = await heldBatch(h, 2, '7001');
    let reply: Reply<{ type: string; sessionId?: string }> | undefined;
    const sent = create(h, 2).then((r) => (reply = r));
    try {
      for (;;) {
        if ((await blockedBy(h, batch.pid)) > 0) break;
        // A create that does not wait for the batch cannot see legacy's session and makes a second one.
        if (reply) throw new Error(`the create was answered (${reply.status}) while the batch held the tenant`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await batch.commit();
    }
    await sent;
    const [legacy] = await queryRows<{ id: string }>(h.db.db, sql`select id from virtual_sessions where tenant_id = ${TENANT} and legacy_id = '7001'`);
    expect({ status: reply!.status, type: reply!.body.type, sessionId: reply!.body.sessionId }).toEqual({
      status: 409,
      type: 'https://virtual-care.dev/problems/slot-migrated',
      sessionId: legacy!.id,
    });
    expect(await sessionsOf(h, 2)).toEqual([{ legacy_id: '7001' }]);
  });

  it('refuses a slot legacy’s session was loaded for before (a mirrored booking arriving late), and creates another practitioner’s', async () => {
    await loadLegacy(h.db.db, 3, '7002');
    expect((await create(h, 3)).status).toBe(409);
    expect((await create(h, 3, practitioner(TENANT, 'p-2'))).status).toBe(201);
    expect(await sessionsOf(h, 3)).toEqual([{ legacy_id: '7002' }, { legacy_id: null }]);
  });
});

describe('live mode: no shadow lock, no slot refusal', { timeout: 30_000 }, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fhir: false, start: { relay: false } });
    await configureTenant(h, TENANT);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates while an S4 batch holds the tenant (it would never be answered if it waited) and beside a migrated session of the slot', async () => {
    const batch = await heldBatch(h, 4, '7003');
    try {
      expect((await create(h, 4)).status).toBe(201);
    } finally {
      await batch.commit();
    }
    expect(await sessionsOf(h, 4)).toEqual([{ legacy_id: '7003' }, { legacy_id: null }]);
  });
});
