import type { Logger } from 'pino';
import type { MigratorConfig } from '../config';
import type { DatabaseHandle } from '@vc/schema';
import { unreachableError } from '../driver-errors';
import { StepFailed, UsageError } from './errors';
import type { ProgressOptions } from './progress';
import { createStepProgress } from './progress';
import type { ServiceRegistry } from './services';
import { deleteRejects, EMPTY_CHECKPOINT, insertRejects, loadCheckpoint, saveCheckpoint, type SavedCheckpoint, type StepKey } from './state';
import { queryOf, withTransaction } from './tx';
import type { Batch, BatchAdjustment, KeyRange, RunOptions, SplitTenant, Step, StepContext, StepReport } from './types';
import { withoutQueryParams } from '../query-error';

/**
 * One step of one tenant, from its checkpoint: every batch commits with its checkpoint, so a stop or a
 * crash between batches resumes where it left off. A failure is the step's report (the phase decides
 * what follows); a usage error or refusal is thrown as it is, for the command layer to turn into exit 2.
 */

/** What a step runs with: the phase's run, the step, its checkpoint key and the run it belongs to. */
export interface StepRun {
  readonly key: StepKey;
  readonly step: Step;
  readonly runId: string;
  readonly options: RunOptions;
  readonly config: MigratorConfig;
  readonly handle: DatabaseHandle;
  readonly services: ServiceRegistry;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly progress: ProgressOptions;
  /** What the phase's `prepare` returned (`ctx.prepared`). */
  readonly prepared?: Readonly<Record<string, unknown>>;
  /** Aborted when the run's lock is gone: nothing more may commit. */
  readonly lockLost?: AbortSignal;
  /** One key range of a split tenant (its checkpoint is `key.range`). */
  readonly range?: KeyRange;
  readonly split?: SplitTenant;
}

export const addCounts = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
  for (const [code, n] of Object.entries(from)) if (n) into[code] = (into[code] ?? 0) + n;
};
const sumOf = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Errors are reported by message only: our messages name fields and legacy ids, never PHI or secrets. */
export function messageOf(thrown: unknown): string {
  const error = withoutQueryParams(thrown);
  return error instanceof Error ? error.message : String(error);
}

function reportOf(key: StepKey, cp: SavedCheckpoint, status: StepReport['status'], error?: string): StepReport {
  return {
    id: key.stepId,
    tenant: key.tenantId,
    status,
    read: cp.read,
    written: cp.written,
    rejected: cp.rejected,
    deferred: cp.deferred,
    warnings: sumOf(cp.warnings),
    durationMs: Math.round(cp.durationMs),
    facts: { ...cp.facts },
    ...(error ? { error } : {}),
  };
}

function adjusted(batch: Batch, by: BatchAdjustment | void): Batch {
  if (!by) return batch;
  const warnings: Record<string, number> = { ...batch.warnings };
  addCounts(warnings, by.warnings ?? {});
  return { ...batch, rejects: [...(batch.rejects ?? []), ...(by.rejects ?? [])], written: batch.written + (by.written ?? 0), warnings };
}

function applyBatch(cp: SavedCheckpoint, batch: Batch): SavedCheckpoint {
  const warnings = { ...cp.warnings };
  addCounts(warnings, batch.warnings ?? {});
  return {
    ...cp,
    status: 'running',
    cursor: batch.cursor,
    read: cp.read + batch.read,
    written: cp.written + batch.written,
    rejected: cp.rejected + (batch.rejects?.length ?? 0) + (batch.rejectedBefore ?? 0),
    deferred: cp.deferred + (batch.deferred ?? 0),
    warnings,
    facts: { ...cp.facts, ...batch.facts },
  };
}

/**
 * A finished `rerunWhenDone` step starting over (S3 reads the whole consent export again): what its last pass
 * rejected is forgotten in the same transaction that resets its checkpoint, so the pass ends with exactly the
 * rejects it finds itself (a consent access-policy took this time, a row fixed in the export, a twin gone). One
 * transaction, so no kill can part them: killed before it, the step is still `done` and the next run starts over
 * again; after it, the checkpoint is `running` from the start with nothing rejected, and the resumed pass (not
 * fresh: it clears nothing) re-reads every row its committed batches did not, each batch's rejects committed
 * with its cursor. A key range's checkpoint is one part of its step: its rejects are not told apart from the
 * other ranges', so it clears nothing (no step that re-runs when done is split).
 */
async function startFreshPass(handle: DatabaseHandle, key: StepKey, state: SavedCheckpoint, runId: string): Promise<void> {
  await withTransaction(handle, async (tx) => {
    if (key.range === undefined) await deleteRejects(tx.db, key.tenantId, key.phase, [key.stepId]);
    await saveCheckpoint(tx.db, key, state, runId);
  });
}

export async function runStep(input: StepRun): Promise<StepReport> {
  const { key, step, runId, lockLost, handle, options, log } = input;
  const query = queryOf(handle);
  const saved = (await loadCheckpoint(handle.db, key)) ?? EMPTY_CHECKPOINT;
  if (saved.status === 'done' && !step.rerunWhenDone) return reportOf(key, saved, 'skipped');
  const label = `${key.phase} ${key.tenantId} ${step.id} ${step.title}`;
  const progress = createStepProgress(label, input.progress, { tenant: key.tenantId, rowLabel: `${step.id} ${step.title}` });
  const startedAt = Date.now();
  const fresh = saved.status === 'done';
  let state: SavedCheckpoint = fresh
    ? { ...EMPTY_CHECKPOINT, status: 'running', startedAt: new Date() }
    : { ...saved, status: 'running', startedAt: saved.startedAt ?? new Date(), error: null };
  const base = fresh ? EMPTY_CHECKPOINT : saved;
  const persist = (cp: SavedCheckpoint) => saveCheckpoint(handle.db, key, cp, runId);
  if (fresh) await startFreshPass(handle, key, state, runId);
  else await persist(state);

  const ctx: StepContext = {
    tenantId: key.tenantId,
    phase: key.phase,
    stepId: key.stepId,
    runId,
    options,
    config: input.config,
    db: handle,
    services: input.services,
    log: log.child({ phase: key.phase, tenant: key.tenantId, step: key.stepId }),
    // A lost lock stops the step between batches like a signal does; it then fails (below), never finishes.
    signal: lockLost ? AbortSignal.any([input.signal, lockLost]) : input.signal,
    query,
    prepared: input.prepared ?? {},
    async commit(batch) {
      // Without the lock a second run may be under way: commit nothing more.
      lockLost?.throwIfAborted();
      let next = state;
      await withTransaction(handle, async (tx) => {
        const done = adjusted(batch, batch.write ? await batch.write(tx) : undefined);
        next = applyBatch(state, done);
        await insertRejects(tx, key, done.rejects ?? []);
        await saveCheckpoint(tx.db, key, { ...next, durationMs: base.durationMs + (Date.now() - startedAt) }, runId);
      });
      state = next;
    },
    progress: (done, total) => progress.update(done, total),
    async checkpointOf(phase, stepId) {
      return loadCheckpoint(handle.db, { tenantId: key.tenantId, phase, stepId });
    },
    ...(input.range ? { range: input.range } : {}),
    ...(input.split ? { split: input.split } : {}),
  };

  try {
    const result = await step.run(ctx, base);
    lockLost?.throwIfAborted();
    state = { ...state, facts: { ...state.facts, ...result?.facts }, durationMs: base.durationMs + (Date.now() - startedAt) };
    if (input.signal.aborted) {
      await persist(state);
      progress.finish('interrupted', `interrupted after ${state.read} rows; run again to resume`);
      return reportOf(key, state, 'interrupted');
    }
    const rate = state.read > 0 ? state.rejected / state.read : 0;
    const maxRate = step.maxRejectRate ?? options.maxRejectRate;
    // A key range is a part of the tenant's step: the rate is the whole step's, checked when the tenant's run takes the ranges over.
    if (rate > maxRate && !input.range) {
      // A dry run keeps no reject rows, so `migrator rejects` would list none: point at the tally it prints instead.
      const look = options.dryRun
        ? 'a dry run keeps no rejects: their reasons are counted under the table (`rejects:`, --json `rejects`)'
        : `see \`migrator rejects --tenant ${key.tenantId}\``;
      throw new StepFailed(
        `step ${step.id} of tenant ${key.tenantId} rejected ${state.rejected} of ${state.read} rows (${(rate * 100).toFixed(2)}%), above --max-reject-rate ${maxRate}; ${look}`,
      );
    }
    state = { ...state, status: 'done', finishedAt: new Date() };
    await persist(state);
    progress.finish(true, `${state.read} read, ${state.written} written, ${state.rejected} rejected${state.deferred ? `, ${state.deferred} deferred` : ''}`);
    return reportOf(key, state, 'done');
  } catch (thrown) {
    // An unreachable server is the environment's fault, not the step's: exit 2 naming the variable.
    const error = unreachableError(thrown, input.config) ?? thrown;
    const message = messageOf(error);
    // Bad usage or config (a setting a client needs is unset) is no step failure: the run ends with exit 2.
    if (error instanceof UsageError) {
      progress.finish(false, message);
      // Kept on the step (a gate's refusal names what clears it), so `status` says why it stopped.
      await persist({ ...state, status: 'failed', error: message }).catch((e: unknown) =>
        log.error({ err: messageOf(e) }, 'could not record the refused step'),
      );
      throw error;
    }
    state = { ...state, status: 'failed', error: message, durationMs: base.durationMs + (Date.now() - startedAt) };
    await persist(state).catch((e: unknown) => log.error({ err: messageOf(e) }, 'could not record the failed step'));
    progress.finish(false, message);
    log.error(
      { phase: key.phase, tenant: key.tenantId, step: key.stepId, err: message },
      'step failed; its committed batches are kept and the next run resumes',
    );
    return reportOf(key, state, 'failed', message);
  }
}
