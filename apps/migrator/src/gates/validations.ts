import { hostname } from 'node:os';
import { migrationValidations, queryRows, type Database } from '@vc/schema';
import { desc, eq, sql } from 'drizzle-orm';

/** `vc_migration.validations`: one tenant's verdict of a `migrator validate`, as the S4 gate reads it. */
export type TenantValidation = Pick<typeof migrationValidations.$inferSelect, 'startedAt' | 'failedChecks'> & { status: 'pass' | 'fail' };

/**
 * The database's clock, to the microsecond it stores: a validate's start is compared with runs stamped by
 * the same clock, and a JavaScript Date (milliseconds) would round a validate started just after a run
 * ended back to before it.
 */
export async function databaseNow(db: Database): Promise<string> {
  const [row] = await queryRows<{ now: string }>(db, sql`select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`);
  return row!.now;
}

/**
 * Records each tenant's verdict of one validate (a check that failed or could not complete fails the
 * tenant). `startedAt` is {@link databaseNow} taken before the checklist read anything; it is handed to
 * the database as text, which rounds it to the stored millisecond (a JavaScript Date would truncate it).
 */
export async function recordValidations(
  db: Database,
  checks: ReadonlyArray<{ tenant: string; id: string; status: string }>,
  tenants: readonly string[],
  at: { startedAt: string; asOf: Date },
): Promise<void> {
  for (const tenant of tenants) {
    const own = checks.filter((c) => c.tenant === tenant);
    const failed = own.filter((c) => c.status !== 'pass').map((c) => c.id);
    await db.insert(migrationValidations).values({
      tenantId: tenant,
      status: failed.length === 0 && own.length > 0 ? 'pass' : 'fail',
      checks: own.length,
      failedChecks: failed,
      asOf: at.asOf,
      startedAt: sql`${at.startedAt}::timestamptz`,
      host: hostname(),
    });
  }
}

/** The tenant's latest validate, if any. */
export async function latestValidation(db: Database, tenant: string): Promise<TenantValidation | undefined> {
  const [row] = await db
    .select({ status: migrationValidations.status, startedAt: migrationValidations.startedAt, failedChecks: migrationValidations.failedChecks })
    .from(migrationValidations)
    .where(eq(migrationValidations.tenantId, tenant))
    .orderBy(desc(migrationValidations.startedAt), desc(migrationValidations.id))
    .limit(1);
  return row ? { status: row.status as TenantValidation['status'], startedAt: row.startedAt, failedChecks: row.failedChecks } : undefined;
}
