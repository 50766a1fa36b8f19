import { stepCheckpoints, type Database } from '@vc/schema';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Checkpoint, PhaseId } from '../types';

/** `vc_migration.step_checkpoints`: where each (tenant, phase, step) stands. Only the engine writes it. */

export interface StepKey {
  tenantId: string;
  phase: PhaseId;
  stepId: string;
  /** A key range's key (one work item of a split tenant); absent for the step over the whole tenant. */
  range?: string;
}

/** Only whole-tenant checkpoints: what status, gates and later phases read (a split tenant's merge writes them). */
const WHOLE = eq(stepCheckpoints.keyRange, '');

/** A checkpoint plus what only the engine reads. */
export interface SavedCheckpoint extends Checkpoint {
  durationMs: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

export const EMPTY_CHECKPOINT: SavedCheckpoint = Object.freeze({
  status: 'pending',
  cursor: null,
  read: 0,
  written: 0,
  rejected: 0,
  deferred: 0,
  warnings: {},
  facts: {},
  durationMs: 0,
  startedAt: null,
  finishedAt: null,
  error: null,
});

type CheckpointRow = typeof stepCheckpoints.$inferSelect;

function fromRow(row: CheckpointRow): SavedCheckpoint {
  return {
    status: row.status,
    cursor: row.cursor,
    read: row.read,
    written: row.written,
    rejected: row.rejected,
    deferred: row.deferred,
    warnings: row.warnings,
    facts: row.facts ?? {},
    durationMs: row.durationMs,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
  };
}

const keyIs = (key: StepKey) =>
  and(
    eq(stepCheckpoints.tenantId, key.tenantId),
    eq(stepCheckpoints.phase, key.phase),
    eq(stepCheckpoints.stepId, key.stepId),
    eq(stepCheckpoints.keyRange, key.range ?? ''),
  );

export async function loadCheckpoint(db: Database, key: StepKey): Promise<SavedCheckpoint | undefined> {
  const [row] = await db.select().from(stepCheckpoints).where(keyIs(key));
  return row ? fromRow(row) : undefined;
}

/** Every checkpoint, for `migrator status`, optionally of one tenant. */
export async function listCheckpoints(db: Database, tenantId?: string): Promise<Array<SavedCheckpoint & StepKey & { runId: string | null }>> {
  const rows = await db
    .select()
    .from(stepCheckpoints)
    .where(tenantId === undefined ? WHOLE : and(WHOLE, eq(stepCheckpoints.tenantId, tenantId)))
    .orderBy(asc(stepCheckpoints.tenantId), asc(stepCheckpoints.phase), asc(stepCheckpoints.stepId));
  return rows.map((row) => ({ ...fromRow(row), tenantId: row.tenantId, phase: row.phase as PhaseId, stepId: row.stepId, runId: row.runId }));
}

/** Upserts a checkpoint; `runId` ties it to the run that last touched it. */
export async function saveCheckpoint(db: Database, key: StepKey, cp: SavedCheckpoint, runId: string): Promise<void> {
  const values = {
    status: cp.status,
    cursor: cp.cursor,
    read: cp.read,
    written: cp.written,
    rejected: cp.rejected,
    deferred: cp.deferred,
    warnings: { ...cp.warnings },
    facts: { ...cp.facts },
    runId,
    error: cp.error,
    startedAt: cp.startedAt,
    finishedAt: cp.finishedAt,
    durationMs: Math.round(cp.durationMs),
    updatedAt: sql`now()`,
  };
  await db
    .insert(stepCheckpoints)
    .values({ tenantId: key.tenantId, phase: key.phase, stepId: key.stepId, keyRange: key.range ?? '', ...values })
    .onConflictDoUpdate({ target: [stepCheckpoints.tenantId, stepCheckpoints.phase, stepCheckpoints.stepId, stepCheckpoints.keyRange], set: values });
}

/** The checkpoints of these key ranges of a step (a split tenant's merge); absent ranges are missing from the result. */
export async function rangeCheckpoints(db: Database, key: Omit<StepKey, 'range'>, ranges: readonly string[]): Promise<Map<string, SavedCheckpoint>> {
  if (ranges.length === 0) return new Map();
  const rows = await db
    .select()
    .from(stepCheckpoints)
    .where(
      and(
        eq(stepCheckpoints.tenantId, key.tenantId),
        eq(stepCheckpoints.phase, key.phase),
        eq(stepCheckpoints.stepId, key.stepId),
        inArray(stepCheckpoints.keyRange, [...ranges]),
      ),
    );
  return new Map(rows.map((row) => [row.keyRange, fromRow(row)]));
}

/** Forgets where these steps were (`--restart-step`). */
export async function deleteCheckpoints(db: Database, tenantId: string, phase: PhaseId, stepIds: readonly string[]): Promise<void> {
  await db
    .delete(stepCheckpoints)
    .where(and(eq(stepCheckpoints.tenantId, tenantId), eq(stepCheckpoints.phase, phase), inArray(stepCheckpoints.stepId, [...stepIds]), WHOLE));
}

/** What the gates read of a tenant's checkpoints in these phases. */
export async function checkpointStates(
  db: Database,
  tenantId: string,
  phases: readonly PhaseId[],
): Promise<Array<Pick<CheckpointRow, 'phase' | 'stepId' | 'status' | 'error' | 'facts'>>> {
  return db
    .select({
      phase: stepCheckpoints.phase,
      stepId: stepCheckpoints.stepId,
      status: stepCheckpoints.status,
      error: stepCheckpoints.error,
      facts: stepCheckpoints.facts,
    })
    .from(stepCheckpoints)
    .where(and(eq(stepCheckpoints.tenantId, tenantId), inArray(stepCheckpoints.phase, [...phases]), WHOLE));
}

/** Which of these tenants have a whole-tenant checkpoint of the phase (their phase ran, or runs, unsplit). */
export async function tenantsWithCheckpoints(db: Database, phase: PhaseId, tenants: readonly string[]): Promise<Set<string>> {
  if (tenants.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ tenantId: stepCheckpoints.tenantId })
    .from(stepCheckpoints)
    .where(and(eq(stepCheckpoints.phase, phase), WHOLE, inArray(stepCheckpoints.tenantId, [...tenants])));
  return new Set(rows.map((r) => r.tenantId));
}
