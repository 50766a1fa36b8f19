import {
  cutovers,
  encounterBackfills,
  idMap,
  migrationRejects,
  migrationRuns,
  migrationValidations,
  stepCheckpoints,
  tenantVirtualCareConfigs,
  virtualSessions,
  type Database,
} from '@vc/schema';
import { and, count, eq, ne, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';

/**
 * What `migrator tenant forget` reads and removes, by Drizzle table: the rows that make a tenant
 * unforgettable, and its state in vc_migration (never a service row).
 */

/** The phase of the run row that records a forget. */
const FORGET = 'forget';

/** The vc_migration tables whose rows of the tenant are removed, by the name `forget` reports them under. */
const STATE_TABLES = {
  step_checkpoints: stepCheckpoints,
  rejects: migrationRejects,
  id_map: idMap,
  runs: migrationRuns,
  validations: migrationValidations,
} as const;

export type StateTable = keyof typeof STATE_TABLES;

const BLOCKERS: ReadonlyArray<{ what: string; table: PgTable; tenantId: PgColumn; also?: SQL }> = [
  { what: 'migrated sessions (virtual_sessions)', table: virtualSessions, tenantId: virtualSessions.tenantId },
  { what: 'tenant configurations (tenant_virtual_care_configs)', table: tenantVirtualCareConfigs, tenantId: tenantVirtualCareConfigs.tenantId },
  { what: 'S4 routing changes (vc_migration.cutovers)', table: cutovers, tenantId: cutovers.tenantId },
  { what: 'backfilled Encounters (vc_migration.encounter_backfills)', table: encounterBackfills, tenantId: encounterBackfills.tenantId },
  {
    what: 'a running step (vc_migration.step_checkpoints)',
    table: stepCheckpoints,
    tenantId: stepCheckpoints.tenantId,
    also: eq(stepCheckpoints.status, 'running'),
  },
];

/** What the tenant has that forgetting its id map would make the next run migrate twice (empty: it can be forgotten). */
export async function forgetBlockers(db: Database, tenant: string): Promise<string[]> {
  const found: string[] = [];
  for (const blocker of BLOCKERS) {
    const [row] = await db
      .select({ n: count() })
      .from(blocker.table)
      .where(and(eq(blocker.tenantId, tenant), blocker.also));
    if (row!.n > 0) found.push(blocker.what);
  }
  return found;
}

/**
 * Deletes the tenant's rows of every state table (in the caller's transaction); returns how many each lost.
 * `between` runs before each table: it throws to stop (the caller's transaction then rolls back what was deleted).
 */
export async function deleteTenantState(db: Database, tenant: string, between: () => void = () => undefined): Promise<Record<StateTable, number>> {
  const removed = {} as Record<StateTable, number>;
  for (const [name, table] of Object.entries(STATE_TABLES) as Array<[StateTable, (typeof STATE_TABLES)[StateTable]]>) {
    between();
    // An earlier forget's record (who and why) is audit, not state: a second forget keeps it.
    const state = table === migrationRuns ? and(eq(table.tenantId, tenant), ne(migrationRuns.phase, FORGET)) : eq(table.tenantId, tenant);
    removed[name] = (
      await db
        .delete(table)
        .where(state)
        .returning({ one: sql<number>`1` })
    ).length;
  }
  return removed;
}

/** Who forgot the tenant and why, as a finished run of phase `forget` (`status` lists it). */
export async function recordForget(db: Database, tenant: string, options: Record<string, unknown>, summary: Record<string, unknown>): Promise<void> {
  await db.insert(migrationRuns).values({ tenantId: tenant, phase: FORGET, status: 'done', options, summary, finishedAt: sql`now()` });
}
