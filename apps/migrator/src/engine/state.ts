import type { Query } from './tx';
import { storableReject } from './storable-reject';
import type { Checkpoint, PhaseId, RejectInput, Tx } from './types';

/**
 * Reads and writes of `vc_migration` (runs, step_checkpoints, rejects), one function per operation.
 * Only the engine calls these; steps see checkpoints through `run(ctx, checkpoint)` and `ctx.commit`.
 */
export interface StepKey {
  tenantId: string;
  phase: PhaseId;
  stepId: string;
}

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

interface CheckpointRow {
  status: Checkpoint['status'];
  cursor: Record<string, unknown> | null;
  read: number;
  written: number;
  rejected: number;
  deferred: number;
  warnings: Record<string, number>;
  facts: Record<string, unknown> | null;
  duration_ms: number;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  error: string | null;
  step_id: string;
  tenant_id: string;
  phase: string;
  run_id: string | null;
}

const toDate = (v: Date | string | null) => (v === null ? null : new Date(v));

function fromRow(row: CheckpointRow): SavedCheckpoint {
  return {
    status: row.status,
    cursor: row.cursor,
    read: row.read,
    written: row.written,
    rejected: row.rejected,
    deferred: row.deferred,
    warnings: row.warnings ?? {},
    facts: row.facts ?? {},
    durationMs: row.duration_ms,
    startedAt: toDate(row.started_at),
    finishedAt: toDate(row.finished_at),
    error: row.error,
  };
}

export async function loadCheckpoint(query: Query, key: StepKey): Promise<SavedCheckpoint | undefined> {
  const rows = await query<CheckpointRow>('select * from vc_migration.step_checkpoints where tenant_id = $1 and phase = $2 and step_id = $3', [key.tenantId, key.phase, key.stepId]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Every checkpoint, for `migrator status`, optionally of one tenant. */
export async function listCheckpoints(query: Query, tenantId?: string): Promise<Array<SavedCheckpoint & StepKey & { runId: string | null }>> {
  const rows = await query<CheckpointRow>(
    `select * from vc_migration.step_checkpoints ${tenantId ? 'where tenant_id = $1' : ''} order by tenant_id, phase, step_id`,
    tenantId ? [tenantId] : [],
  );
  return rows.map((row) => ({ ...fromRow(row), tenantId: row.tenant_id, phase: row.phase as PhaseId, stepId: row.step_id, runId: row.run_id }));
}

/** Upserts a checkpoint; `runId` ties it to the run that last touched it. */
export async function saveCheckpoint(run: (text: string, params: readonly unknown[]) => Promise<unknown>, key: StepKey, cp: SavedCheckpoint, runId: string): Promise<void> {
  await run(
    `insert into vc_migration.step_checkpoints
       (tenant_id, phase, step_id, status, cursor, read, written, rejected, deferred, warnings, facts, run_id, error, started_at, finished_at, duration_ms, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now())
     on conflict (tenant_id, phase, step_id) do update set
       status = excluded.status, cursor = excluded.cursor, read = excluded.read, written = excluded.written,
       rejected = excluded.rejected, deferred = excluded.deferred, warnings = excluded.warnings, facts = excluded.facts,
       run_id = excluded.run_id, error = excluded.error, started_at = excluded.started_at,
       finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, updated_at = now()`,
    [
      key.tenantId, key.phase, key.stepId, cp.status, cp.cursor === null ? null : JSON.stringify(cp.cursor), cp.read, cp.written, cp.rejected, cp.deferred,
      JSON.stringify(cp.warnings), JSON.stringify(cp.facts), runId, cp.error, cp.startedAt?.toISOString() ?? null, cp.finishedAt?.toISOString() ?? null, Math.round(cp.durationMs),
    ],
  );
}

/**
 * Rejects whose legacy key and reason another source row of the step already holds (a CSV export with one
 * id twice) are keyed by their location too (`id@VirtualSession.csv:12`), so each source row keeps its
 * own reject; the same row rejected again (a re-run) keeps its key and changes nothing.
 */
async function locatedKeys(tx: Tx, key: StepKey, rejects: RejectInput[]): Promise<RejectInput[]> {
  if (!rejects.some((r) => r.source !== undefined)) return rejects;
  const held = await tx.query<{ legacy_key: string; reason: string; source: string | null }>(
    'select legacy_key, reason, source from vc_migration.rejects where tenant_id = $1 and phase = $2 and step_id = $3 and legacy_key = any($4::text[])',
    [key.tenantId, key.phase, key.stepId, [...new Set(rejects.map((r) => r.legacyKey))]],
  );
  const owner = new Map(held.map((h) => [`${h.legacy_key}\u0000${h.reason}`, h.source]));
  return rejects.map((r) => {
    const k = `${r.legacyKey}\u0000${r.reason}`;
    const source = r.source ?? null;
    if (!owner.has(k)) {
      owner.set(k, source);
      return r;
    }
    return owner.get(k) === source || source === null ? r : { ...r, legacyKey: `${r.legacyKey}@${source}` };
  });
}

/** Rejects of one batch; a source row already rejected for that reason is left as it is. */
export async function insertRejects(tx: Tx, key: StepKey, rejects: readonly RejectInput[]): Promise<void> {
  if (rejects.length === 0) return;
  const located = await locatedKeys(tx, key, rejects.map(storableReject));
  const rows = located.map((r) => [key.tenantId, key.phase, key.stepId, r.legacyKey, r.reason, r.detail ?? null, r.raw, r.source ?? null]);
  await tx.insertMany('vc_migration.rejects', ['tenant_id', 'phase', 'step_id', 'legacy_key', 'reason', 'detail', 'raw', 'source'], rows, {
    onConflict: '(tenant_id, phase, step_id, legacy_key, reason) do nothing',
  });
}

/** `--restart-step`: the steps forget where they were and what they rejected. Rows they wrote stay (re-runs upsert). */
export async function resetSteps(query: Query, tenantId: string, phase: PhaseId, stepIds: readonly string[]): Promise<void> {
  await query('delete from vc_migration.rejects where tenant_id = $1 and phase = $2 and step_id = any($3::text[])', [tenantId, phase, stepIds]);
  await query('delete from vc_migration.step_checkpoints where tenant_id = $1 and phase = $2 and step_id = any($3::text[])', [tenantId, phase, stepIds]);
}

/** A new run, stamped with where its process is (`status` tells a live run from a dead one by it). */
export async function startRun(query: Query, tenantId: string, phase: PhaseId, options: Record<string, unknown>, where: { host: string; pid: number }): Promise<string> {
  const [row] = await query<{ id: string }>('insert into vc_migration.runs (tenant_id, phase, options, host, pid, heartbeat_at) values ($1, $2, $3, $4, $5, now()) returning id', [
    tenantId, phase, JSON.stringify(options), where.host, where.pid,
  ]);
  return row!.id;
}

/** A run's heartbeat period; `migrator status` calls a run stale after several missed beats. */
export const HEARTBEAT_MS = 10_000;

/** The run is alive: `migrator status` marks a running run stale when this stops. */
export async function heartbeatRun(query: Query, runId: string): Promise<void> {
  await query(`update vc_migration.runs set heartbeat_at = now() where id = $1 and status = 'running'`, [runId]);
}

export async function finishRun(query: Query, runId: string, status: 'done' | 'failed' | 'interrupted', summary: Record<string, unknown>): Promise<void> {
  await query('update vc_migration.runs set status = $2, summary = $3, finished_at = now() where id = $1', [runId, status, JSON.stringify(summary)]);
}

/** Runs left `running` by a process that died (SIGKILL): marked interrupted when the next run starts. */
export async function closeAbandonedRuns(query: Query, tenantId: string, phase: PhaseId): Promise<void> {
  await query(`update vc_migration.runs set status = 'interrupted', finished_at = now() where tenant_id = $1 and phase = $2 and status = 'running'`, [tenantId, phase]);
}

/** Reject counts by reason (all steps of the phase, or one step). */
export async function rejectCounts(query: Query, tenantId: string, phase: PhaseId, stepId?: string): Promise<Record<string, number>> {
  const rows = await query<{ reason: string; n: number }>(
    `select reason, count(*)::int as n from vc_migration.rejects where tenant_id = $1 and phase = $2 ${stepId ? 'and step_id = $3' : ''} group by reason order by reason`,
    stepId ? [tenantId, phase, stepId] : [tenantId, phase],
  );
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}
