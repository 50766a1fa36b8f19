import { migrationRuns, type Database } from '@vc/schema';
import { and, eq, sql } from 'drizzle-orm';
import type { PhaseId } from '../types';

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
