import { migrationRuns, migrationValidations, type Database, type MigrationRun } from '@vc/schema';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { PhaseId } from '../types';
import { secondsSince } from './columns';

/** `vc_migration.runs`: one row per invocation of a phase for a tenant. Times are the database's. */

/** A run's heartbeat period; `migrator status` calls a run stale after several missed beats. */
export const HEARTBEAT_MS = 10_000;

/** A new run, stamped with where its process is (`status` tells a live run from a dead one by it). */
export async function startRun(
  db: Database,
  tenantId: string,
  phase: PhaseId,
  options: Record<string, unknown>,
  where: { host: string; pid: number },
): Promise<string> {
  const [row] = await db
    .insert(migrationRuns)
    .values({ tenantId, phase, options, host: where.host, pid: where.pid, heartbeatAt: sql`now()` })
    .returning({ id: migrationRuns.id });
  return row!.id;
}

/** The run is alive: `migrator status` marks a running run stale when this stops. */
export async function heartbeatRun(db: Database, runId: string): Promise<void> {
  await db
    .update(migrationRuns)
    .set({ heartbeatAt: sql`now()` })
    .where(and(eq(migrationRuns.id, runId), eq(migrationRuns.status, 'running')));
}

export async function finishRun(db: Database, runId: string, status: 'done' | 'failed' | 'interrupted', summary: Record<string, unknown>): Promise<void> {
  await db
    .update(migrationRuns)
    .set({ status, summary, finishedAt: sql`now()` })
    .where(eq(migrationRuns.id, runId));
}

/** Runs left `running` by a process that died (SIGKILL): marked interrupted when the next run starts. */
export async function closeAbandonedRuns(db: Database, tenantId: string, phase: PhaseId): Promise<void> {
  await db
    .update(migrationRuns)
    .set({ status: 'interrupted', finishedAt: sql`now()` })
    .where(and(eq(migrationRuns.tenantId, tenantId), eq(migrationRuns.phase, phase), eq(migrationRuns.status, 'running')));
}

/**
 * The tenant's last real (not dry) run of these phases, a run still going counting as ending now, and
 * whether it ended at or after the start of the tenant's latest validate. That comparison is made in the
 * database, on the times as stored (milliseconds, rounded): a run that ended in the validate's own
 * millisecond cannot be told apart from one before it, so it counts as after. Null when no validate.
 */
export async function lastRealRun(
  db: Database,
  tenantId: string,
  phases: readonly PhaseId[],
): Promise<{ phase: string; endedAt: Date; afterValidate: boolean | null } | undefined> {
  const endedAt = sql`coalesce(${migrationRuns.finishedAt}, now())`;
  const lastValidate = sql`(select max(${migrationValidations.startedAt}) from ${migrationValidations} where ${migrationValidations.tenantId} = ${tenantId})`;
  const [row] = await db
    .select({
      phase: migrationRuns.phase,
      endedAt: endedAt.mapWith(migrationRuns.finishedAt),
      afterValidate: sql<boolean | null>`${endedAt} >= ${lastValidate}`,
    })
    .from(migrationRuns)
    .where(and(eq(migrationRuns.tenantId, tenantId), inArray(migrationRuns.phase, [...phases]), eq(migrationRuns.dryRun, false)))
    .orderBy(desc(endedAt))
    .limit(1);
  return row;
}

/** A run as `migrator status` judges its liveness; `heartbeatAgeS` is seconds since its last heartbeat (database clock), null for a run from before heartbeats. */
export type RunLiveness = Pick<MigrationRun, 'id' | 'status' | 'host' | 'pid'> & { heartbeatAgeS: number | null };

export async function runsById(db: Database, ids: readonly string[]): Promise<Map<string, RunLiveness>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({
      id: migrationRuns.id,
      status: migrationRuns.status,
      host: migrationRuns.host,
      pid: migrationRuns.pid,
      heartbeatAgeS: secondsSince(migrationRuns.heartbeatAt),
    })
    .from(migrationRuns)
    .where(inArray(migrationRuns.id, [...ids]));
  return new Map(rows.map((r) => [r.id, r]));
}
