import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, pgErrorCode, PG_ERROR, queryRows, type DatabaseHandle } from './client';
import { migrate, SchemaAheadError } from './migrate';
import { billingEvents, idMap, migrationRejects, runLedger, sessionAuditEvents, sessionParticipants, stepCheckpoints, virtualSessions } from './tables/index';
import { createTestDatabase, type TestDatabase } from './testing/index';

/** The same suite runs once per driver, as drizzle-orm does: PostgreSQL 15 (production) and PGlite (embedded default). */
const drivers: Array<{ name: string; open: () => Promise<{ handle: DatabaseHandle; dispose: () => Promise<void> }> }> = [
  {
    name: 'PostgreSQL 15',
    open: async () => {
      const database: TestDatabase = await createTestDatabase({ migrated: false });
      const handle = await createDatabase(database.url, { max: 3 });
      return {
        handle,
        dispose: async () => {
          await handle.close();
          await database.drop();
        },
      };
    },
  },
  {
    name: 'PGlite',
    open: async () => {
      const handle = await createDatabase('pglite:memory');
      return { handle, dispose: () => handle.close() };
    },
  },
];

async function expectSqlState(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected SQLSTATE ${code}`).toBeDefined();
  expect(pgErrorCode(error)).toBe(code);
}

describe.each(drivers)('schema on $name', ({ open }) => {
  let handle: DatabaseHandle;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ handle, dispose } = await open());
  });
  afterAll(async () => dispose());

  const session = (over: Partial<typeof virtualSessions.$inferInsert> = {}) => ({
    tenantId: 'acme',
    patientRef: 'Patient/p-1',
    status: 'ended' as const,
    ...over,
  });

  it('applies every migration to an empty database', async () => {
    const first = await migrate(handle);
    expect(first.applied).toBeGreaterThan(0);
    expect(first.applied).toBe(first.total);
    const tables = await queryRows<{ name: string }>(
      handle.db,
      sql`
      select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema in ('public', 'vc_migration') order by 1`,
    );
    expect(tables.map((r) => r.name)).toEqual([
      'public.billing_events',
      'public.idempotency_keys',
      'public.outbox',
      'public.session_audit_events',
      'public.session_participants',
      'public.tenant_virtual_care_configs',
      'public.virtual_sessions',
      'vc_migration.cutovers',
      'vc_migration.encounter_backfills',
      'vc_migration.id_map',
      'vc_migration.ledger',
      'vc_migration.participant_refolds',
      'vc_migration.plan_items',
      'vc_migration.plans',
      'vc_migration.rejects',
      'vc_migration.runs',
      'vc_migration.step_checkpoints',
      'vc_migration.validations',
    ]);
  });

  it('re-applying the migrations is a no-op', async () => {
    const again = await migrate(handle);
    expect(again.applied).toBe(0);
    const [row] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(row!.n).toBe(again.total);
  });

  it('refuses a database a newer build migrated, naming how many migrations it does not know', async () => {
    await handle.db.execute(sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', 4102444800000)`);
    try {
      const error = await migrate(handle).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SchemaAheadError);
      expect((error as SchemaAheadError).unknownMigrations).toBe(1);
    } finally {
      await handle.db.execute(sql`delete from drizzle.__drizzle_migrations where hash = 'from-a-newer-build'`);
    }
    expect((await migrate(handle)).applied).toBe(0);
  });

  it('refuses a second session with the same tenant and legacy id', async () => {
    await handle.db.insert(virtualSessions).values(session({ legacyId: '42' }));
    await expectSqlState(handle.db.insert(virtualSessions).values(session({ legacyId: '42' })), PG_ERROR.uniqueViolation);
  });

  it('allows the same legacy id in another tenant, and any number of native (null legacy id) sessions', async () => {
    await handle.db.insert(virtualSessions).values(session({ tenantId: 'globex', legacyId: '42' }));
    await handle.db.insert(virtualSessions).values([session({ legacyId: null }), session({ legacyId: null })]);
    const rows = await handle.db.select().from(virtualSessions).where(eq(virtualSessions.legacyId, '42'));
    expect(rows.map((r) => r.tenantId).sort()).toEqual(['acme', 'globex']);
  });

  it('refuses a second participant row for the same session and participant', async () => {
    const [s] = await handle.db
      .insert(virtualSessions)
      .values(session({ legacyId: '43' }))
      .returning();
    const participant = {
      sessionId: s!.id,
      tenantId: 'acme',
      participantRef: 'Practitioner/d-1',
      role: 'practitioner' as const,
      source: 'audit_backfill' as const,
      joinCount: 1,
    };
    await handle.db.insert(sessionParticipants).values(participant);
    await expectSqlState(handle.db.insert(sessionParticipants).values({ ...participant, source: 'live' }), PG_ERROR.uniqueViolation);
  });

  it('refuses a participant of a session that does not exist', async () => {
    await expectSqlState(
      handle.db.insert(sessionParticipants).values({ sessionId: randomUUID(), tenantId: 'acme', participantRef: 'Patient/x', role: 'patient', source: 'live' }),
      PG_ERROR.foreignKeyViolation,
    );
  });

  /** A live bill (no legacy id) of a new session with that legacy id. */
  const billOfNewSession = async (legacyId: string) => {
    const [s] = await handle.db.insert(virtualSessions).values(session({ legacyId })).returning();
    return { tenantId: 'acme', sessionId: s!.id, code: '99213', placeOfService: '02', modifier: '95', occurredAt: new Date() };
  };

  it('refuses a second billing event of the same code for a session', async () => {
    const bill = await billOfNewSession('44');
    await handle.db.insert(billingEvents).values(bill);
    await expectSqlState(handle.db.insert(billingEvents).values(bill), PG_ERROR.uniqueViolation);
  });

  it("keeps legacy's void and re-bill of one code for a session as two carried rows, each once by legacy id", async () => {
    const bill = await billOfNewSession('47');
    await handle.db.insert(billingEvents).values({ ...bill, legacyId: '108', status: 'void' });
    await handle.db.insert(billingEvents).values({ ...bill, legacyId: '109', status: 'published' });
    await expectSqlState(handle.db.insert(billingEvents).values({ ...bill, legacyId: '109' }), PG_ERROR.uniqueViolation);
    // A live bill of that session and code is still one only.
    await handle.db.insert(billingEvents).values(bill);
    await expectSqlState(handle.db.insert(billingEvents).values(bill), PG_ERROR.uniqueViolation);
    const rows = await handle.db.select().from(billingEvents).where(eq(billingEvents.sessionId, bill.sessionId));
    expect(rows.map((r) => r.legacyId).sort()).toEqual(['108', '109', null]);
  });

  it('refuses a cancel reason on a session that is not cancelled', async () => {
    await expectSqlState(handle.db.insert(virtualSessions).values(session({ legacyId: '45', cancelReason: 'no_show' })), PG_ERROR.checkViolation);
  });

  it('keeps the audit trail append-only', async () => {
    const [s] = await handle.db
      .insert(virtualSessions)
      .values(session({ legacyId: '46' }))
      .returning();
    const [event] = await handle.db.insert(sessionAuditEvents).values({ tenantId: 'acme', sessionId: s!.id, action: 'session.ended' }).returning();
    await expect(handle.db.update(sessionAuditEvents).set({ action: 'session.erased' }).where(eq(sessionAuditEvents.id, event!.id))).rejects.toThrow();
    await expect(handle.db.delete(sessionAuditEvents).where(eq(sessionAuditEvents.id, event!.id))).rejects.toThrow();
    const [kept] = await handle.db.select().from(sessionAuditEvents).where(eq(sessionAuditEvents.id, event!.id));
    expect(kept!.action).toBe('session.ended');
  });

  it('keeps the run ledger append-only: no UPDATE, DELETE or TRUNCATE', async () => {
    // insufficient_privilege, as migration 0018's guard raises it
    const REWRITE_REFUSED = '42501';
    const row = { seq: 1, prevHash: 'sha256:genesis', hash: 'sha256:one', entry: { command: 'phase s0' }, tenants: ['*'] };
    await handle.db.insert(runLedger).values(row);
    await expectSqlState(handle.db.update(runLedger).set({ entry: { command: 'phase s0 --dry-run' } }), REWRITE_REFUSED);
    await expectSqlState(handle.db.delete(runLedger).where(eq(runLedger.seq, 1)), REWRITE_REFUSED);
    await expectSqlState(handle.db.execute(sql`truncate vc_migration.ledger`), REWRITE_REFUSED);
    expect(await handle.db.select().from(runLedger)).toEqual([row]);
    // Appending goes on.
    await handle.db.insert(runLedger).values({ ...row, seq: 2, prevHash: row.hash, hash: 'sha256:two' });
  });

  it('refuses the same reject twice for one source row, step and reason', async () => {
    const reject = { tenantId: 'acme', phase: 's1', stepId: '1.1', legacyKey: '77', reason: 'missing_patient', raw: { id: '77' } };
    await handle.db.insert(migrationRejects).values(reject);
    await expectSqlState(handle.db.insert(migrationRejects).values(reject), PG_ERROR.uniqueViolation);
  });

  it('drops the vc_migration schema without touching a service table', async () => {
    await handle.db.insert(stepCheckpoints).values({ tenantId: 'acme', phase: 's1', stepId: '1.1', status: 'done' });
    await handle.db.insert(idMap).values({ tenantId: 'acme', entity: 'session', legacyId: '42', newId: randomUUID() });
    const count = async () => (await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from virtual_sessions`))[0]!.n;
    const before = await count();
    await handle.db.execute(sql`drop schema vc_migration cascade`);
    expect(await count()).toBe(before);
    const [left] = await queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from information_schema.tables where table_schema = 'vc_migration'`);
    expect(left!.n).toBe(0);
    // The service's write paths still work with migration state gone.
    await handle.db.insert(virtualSessions).values(session({ legacyId: null, status: 'scheduled' }));
    expect(await count()).toBe(before + 1);
  });
});
