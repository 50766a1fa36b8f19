import { hostname } from 'node:os';
import type { Query } from '../engine/tx';

/** One tenant's verdict of a `migrator validate`, as the S4 gate reads it. */
export interface TenantValidation {
  status: 'pass' | 'fail';
  startedAt: Date;
  failedChecks: string[];
}

/**
 * The database's clock, to the microsecond it stores: a validate's start is compared with runs stamped by
 * the same clock, and a JavaScript Date (milliseconds) would round a validate started just after a run
 * ended back to before it.
 */
export async function databaseNow(query: Query): Promise<string> {
  const [row] = await query<{ now: string }>(`select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as now`);
  return row!.now;
}

/**
 * Records each tenant's verdict of one validate (a check that failed or could not complete fails the
 * tenant). `startedAt` is {@link databaseNow} taken before the checklist read anything.
 */
export async function recordValidations(
  query: Query,
  checks: ReadonlyArray<{ tenant: string; id: string; status: string }>,
  tenants: readonly string[],
  at: { startedAt: string; asOf: Date },
): Promise<void> {
  for (const tenant of tenants) {
    const own = checks.filter((c) => c.tenant === tenant);
    const failed = own.filter((c) => c.status !== 'pass').map((c) => c.id);
    await query(
      `insert into vc_migration.validations (tenant_id, status, checks, failed_checks, as_of, started_at, host) values ($1, $2, $3, $4, $5, $6, $7)`,
      [tenant, failed.length === 0 && own.length > 0 ? 'pass' : 'fail', own.length, failed, at.asOf.toISOString(), at.startedAt, hostname()],
    );
  }
}

/** The tenant's latest validate, if any. */
export async function latestValidation(query: Query, tenant: string): Promise<TenantValidation | undefined> {
  const [row] = await query<{ status: 'pass' | 'fail'; started_at: Date | string; failed_checks: string[] }>(
    'select status, started_at, failed_checks from vc_migration.validations where tenant_id = $1 order by started_at desc, id desc limit 1',
    [tenant],
  );
  return row ? { status: row.status, startedAt: new Date(row.started_at), failedChecks: row.failed_checks } : undefined;
}
