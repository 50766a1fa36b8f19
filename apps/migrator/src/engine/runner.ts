import { hostname } from 'node:os';
import type { DatabaseHandle } from '@vc/schema';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { MigratorConfig } from '../config';
import { unreachableError } from '../driver-errors';
import { ExitError } from '../exit-error';
import { lockTenantPhase } from './lock';
import { createStepProgress, type ProgressOptions } from './progress';
import { createTenantBoard } from './tenant-board';
import type { ServiceRegistry } from './services';
import { closeAbandonedRuns, EMPTY_CHECKPOINT, finishRun, HEARTBEAT_MS, heartbeatRun, insertRejects, loadCheckpoint, rejectCounts, resetSteps, saveCheckpoint, startRun, type SavedCheckpoint, type StepKey } from './state';
import { recordingServices } from './recorders';
import { queryOf, withRolledBackTransaction, withTransaction } from './tx';
import type { Batch, Phase, PhaseId, RunOptions, Step, StepContext, StepReport } from './types';

export interface RunPhaseInput {
  phase: Phase;
  /** Tenants to run, in order; `['*']` for a phase of global steps. */
  tenants: readonly string[];
  options: RunOptions;
  config: MigratorConfig;
  handle: DatabaseHandle;
  services: ServiceRegistry;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** What `phase.prepare` returned, handed to the steps as `ctx.scratch.get('prepared')`. */
  prepared?: Record<string, unknown>;
  /** On a TTY a spinner, or one live row per tenant when several run; plain lines otherwise; nothing when quiet. */
  progress: ProgressOptions;
  /** How often a run says it is alive (vc_migration.runs.heartbeat_at); default {@link HEARTBEAT_MS}. */
  heartbeatMs?: number;
}

/** The `--json` summary of a phase (docs/design.md §8). */
export interface PhaseSummary {
  phase: string;
  tenant?: string;
  tenants?: string[];
  status: 'done' | 'failed' | 'interrupted';
  dryRun: boolean;
  asOf: string;
  steps: StepReport[];
  rejects: Record<string, number>;
  warnings: Record<string, number>;
  errors?: Array<{ tenant: string; step: string; message: string }>;
  /** Dry runs: the outside calls that would change something, recorded instead of sent, by `system.operation`. */
  wouldSend?: Record<string, number>;
}

const addCounts = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
  for (const [code, n] of Object.entries(from)) if (n) into[code] = (into[code] ?? 0) + n;
};
const sumOf = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Errors are reported by message only: our messages name fields and legacy ids, never PHI or secrets. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface TenantOutcome {
  reports: StepReport[];
  status: PhaseSummary['status'];
  rejects: Record<string, number>;
  warnings: Record<string, number>;
  errors: NonNullable<PhaseSummary['errors']>;
}

/**
 * How many tenants of a phase may run at the same time. Only phases whose steps touch nothing but the
 * tenant's own rows, under its own (tenant, phase) lock and checkpoints, sharing only memoised clients:
 * S1. While one tenant waits on PostgreSQL or MariaDB, another maps its batch. Two keeps the connections
 * (a lock, then a transaction or a read, per tenant) well inside the pool and memory at a few batches.
 */
const CONCURRENT_TENANTS: Partial<Record<PhaseId, number>> = { s1: 2 };

/** How many tenants `runPhase` runs at once for this phase and tenant list. */
export function tenantConcurrency(phase: Pick<Phase, 'id'>, tenants: readonly string[]): number {
  return Math.max(1, Math.min(CONCURRENT_TENANTS[phase.id] ?? 1, tenants.length));
}

/**
 * Runs each tenant (a bounded few at once for the phases of {@link CONCURRENT_TENANTS}, else one after
 * another). Outcomes keep the order of `tenants`. After a stop request or an error no further tenant
 * starts; the running ones finish first, then the first error (in tenant order) is thrown.
 */
async function runTenants(input: RunPhaseInput): Promise<TenantOutcome[]> {
  const width = tenantConcurrency(input.phase, input.tenants);
  // Several tenants on a terminal: one row each, instead of spinners that would overwrite each other.
  const board = input.progress.tty && !input.progress.quiet && input.tenants.length > 1 ? createTenantBoard(input.tenants) : undefined;
  const shared = board ? { ...input, progress: { ...input.progress, board } } : input;
  const limit = pLimit(width);
  let failed = false;
  const settled = await Promise.allSettled(
    input.tenants.map((tenantId) =>
      limit(async () => {
        if (input.signal.aborted || failed) return undefined;
        const outcome = await runTenant(shared, tenantId).catch((error: unknown) => {
          failed = true;
          board?.set(tenantId, messageOf(error), 'failed');
          throw error;
        });
        board?.set(tenantId, tenantLine(outcome), outcome.status === 'done' ? 'done' : 'failed');
        return outcome;
      }),
    ),
  ).finally(() => board?.stop());
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected) throw rejected.reason;
  return settled.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : []));
}

/** A tenant's board row once its phase ended: its status and totals. */
function tenantLine(outcome: TenantOutcome): string {
  const total = (key: 'read' | 'written' | 'rejected') => outcome.reports.reduce((n, r) => n + r[key], 0);
  const last = outcome.reports[outcome.reports.length - 1];
  return `${outcome.status}${outcome.status === 'done' ? '' : ` at ${last?.id ?? 'start'}`}: ${total('read')} read, ${total('written')} written, ${total('rejected')} rejected`;
}

/**
 * Runs one phase for each tenant: the (tenant, phase) lock, then each step from its checkpoint. A step
 * already `done` is skipped; a failed step stops that tenant's phase (later steps build on it) and the
 * other tenants go on. Returns the summary; the caller maps its status to the exit code.
 */
export async function runPhase(given: RunPhaseInput): Promise<PhaseSummary> {
  // A dry run's outside calls that would change something are recorded, not sent (engine/recorders.ts).
  const recorder = given.options.dryRun ? recordingServices(given.services) : undefined;
  const input = recorder ? { ...given, services: recorder } : given;
  const outcomes = await runTenants(input);
  const summary: PhaseSummary = {
    phase: input.phase.id,
    ...(input.tenants.length === 1 ? { tenant: input.tenants[0] } : { tenants: [...input.tenants] }),
    status: outcomes.some((o) => o.status === 'failed') ? 'failed' : outcomes.some((o) => o.status === 'interrupted') || outcomes.length < input.tenants.length ? 'interrupted' : 'done',
    dryRun: input.options.dryRun,
    asOf: input.options.asOf.toISOString(),
    steps: outcomes.flatMap((o) => o.reports),
    rejects: {},
    warnings: {},
  };
  for (const o of outcomes) {
    addCounts(summary.rejects, o.rejects);
    addCounts(summary.warnings, o.warnings);
  }
  const errors = outcomes.flatMap((o) => o.errors);
  if (errors.length > 0) summary.errors = errors;
  if (recorder) summary.wouldSend = { ...recorder.counts };
  return summary;
}

/**
 * One tenant's phase under its (tenant, phase) lock. A dry run is the same code inside a transaction
 * that is rolled back (engine/rehearsal.ts): it takes the lock too, because its writes, short-lived as
 * they are, would otherwise hold row locks a real run of the same tenant waits on.
 */
async function runTenant(input: RunPhaseInput, tenantId: string): Promise<TenantOutcome> {
  const lock = await lockTenantPhase(input.handle, tenantId, input.phase.id);
  try {
    if (!input.options.dryRun) return await runTenantSteps(input, tenantId, lock.lost);
    return await withRolledBackTransaction(input.handle, (rehearsal) => runTenantSteps({ ...input, handle: rehearsal }, tenantId, lock.lost));
  } finally {
    await lock.release();
  }
}

async function runTenantSteps(input: RunPhaseInput, tenantId: string, lockLost: AbortSignal | undefined): Promise<TenantOutcome> {
  const { phase, options, handle } = input;
  const query = queryOf(handle);
  const outcome: TenantOutcome = { reports: [], status: 'done', rejects: {}, warnings: {}, errors: [] };
  const steps = phase.steps;
  if (options.restartStep !== undefined) {
    const from = steps.findIndex((s) => s.id === options.restartStep);
    if (from < 0) throw new ExitError(2, `--restart-step ${options.restartStep} is not a step of ${phase.id} (steps: ${steps.map((s) => s.id).join(', ')})`);
    await resetSteps(query, tenantId, phase.id, steps.slice(from).map((s) => s.id));
  }
  await closeAbandonedRuns(query, tenantId, phase.id);
  const runId = await startRun(query, tenantId, phase.id, { ...options, asOf: options.asOf.toISOString() }, { host: hostname(), pid: process.pid });
  // A rehearsal's run row is rolled back with it: nobody else can see it, so it need not say it is alive.
  const beat = options.dryRun
    ? undefined
    : setInterval(() => {
        heartbeatRun(query, runId).catch((error: unknown) => input.log.warn({ err: messageOf(error) }, 'heartbeat not recorded'));
      }, input.heartbeatMs ?? HEARTBEAT_MS);
  beat?.unref();
  let finished = false;
  try {
    const scratch = new Map<string, unknown>(input.prepared ? [['prepared', input.prepared]] : []);
    for (const step of steps) {
      const report = await runStep(input, { tenantId, phase: phase.id, stepId: step.id }, step, runId, scratch, lockLost);
      outcome.reports.push(report);
      if (report.status === 'failed') {
        outcome.status = 'failed';
        outcome.errors.push({ tenant: tenantId, step: step.id, message: report.error ?? 'failed' });
        break;
      }
      if (report.status === 'interrupted') {
        outcome.status = 'interrupted';
        break;
      }
    }
    outcome.rejects = await rejectCounts(query, tenantId, phase.id);
    for (const step of steps) {
      const cp = await loadCheckpoint(query, { tenantId, phase: phase.id, stepId: step.id });
      if (cp) addCounts(outcome.warnings, cp.warnings);
    }
    await finishRun(query, runId, outcome.status, { steps: outcome.reports, rejects: outcome.rejects, warnings: outcome.warnings });
    finished = true;
    return outcome;
  } finally {
    clearInterval(beat);
    // A refusal or a usage error thrown out of a step (exit 2) ends the run too: never `running` forever.
    if (!finished) await finishRun(query, runId, 'failed', {}).catch((e: unknown) => input.log.warn({ err: messageOf(e) }, 'could not close the run'));
  }
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

function applyBatch(cp: SavedCheckpoint, batch: Batch): SavedCheckpoint {
  const warnings = { ...cp.warnings };
  addCounts(warnings, batch.warnings ?? {});
  return {
    ...cp,
    status: 'running',
    cursor: batch.cursor,
    read: cp.read + batch.read,
    written: cp.written + batch.written,
    rejected: cp.rejected + (batch.rejects?.length ?? 0),
    deferred: cp.deferred + (batch.deferred ?? 0),
    warnings,
    facts: { ...cp.facts, ...batch.facts },
  };
}

async function runStep(
  input: RunPhaseInput,
  key: StepKey,
  step: Step,
  runId: string,
  scratch: Map<string, unknown>,
  lockLost?: AbortSignal,
): Promise<StepReport> {
  const { handle, options, log } = input;
  const query = queryOf(handle);
  const saved = (await loadCheckpoint(query, key)) ?? EMPTY_CHECKPOINT;
  if (saved.status === 'done' && !step.rerunWhenDone) return reportOf(key, saved, 'skipped');
  const label = `${key.phase} ${key.tenantId} ${step.id} ${step.title}`;
  const progress = createStepProgress(label, input.progress, { tenant: key.tenantId, rowLabel: `${step.id} ${step.title}` });
  const startedAt = Date.now();
  const fresh = saved.status === 'done';
  let state: SavedCheckpoint = fresh ? { ...EMPTY_CHECKPOINT, status: 'running', startedAt: new Date() } : { ...saved, status: 'running', startedAt: saved.startedAt ?? new Date(), error: null };
  const base = fresh ? EMPTY_CHECKPOINT : saved;
  const persist = (cp: SavedCheckpoint) => saveCheckpoint(query, key, cp, runId);
  await persist(state);

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
    scratch,
    async commit(batch) {
      // Without the lock a second run may be under way: commit nothing more.
      lockLost?.throwIfAborted();
      const next = applyBatch(state, batch);
      await withTransaction(handle, async (tx) => {
        if (batch.write) await batch.write(tx);
        await insertRejects(tx, key, batch.rejects ?? []);
        await saveCheckpoint(tx.query, key, { ...next, durationMs: base.durationMs + (Date.now() - startedAt) }, runId);
      });
      state = next;
    },
    progress: (done, total) => progress.update(done, total),
    async checkpointOf(phase, stepId) {
      return loadCheckpoint(query, { tenantId: key.tenantId, phase, stepId });
    },
  };

  try {
    const result = await step.run(ctx, base);
    lockLost?.throwIfAborted();
    state = { ...state, facts: { ...state.facts, ...result?.facts }, durationMs: base.durationMs + (Date.now() - startedAt) };
    if (input.signal.aborted) {
      await persist(state);
      progress.finish(false, `interrupted after ${state.read} rows; run again to resume`);
      return reportOf(key, state, 'interrupted');
    }
    const rate = state.read > 0 ? state.rejected / state.read : 0;
    const maxRate = step.maxRejectRate ?? options.maxRejectRate;
    if (rate > maxRate) {
      throw new ExitError(1, `step ${step.id} of tenant ${key.tenantId} rejected ${state.rejected} of ${state.read} rows (${(rate * 100).toFixed(2)}%), above --max-reject-rate ${maxRate}; see \`migrator rejects --tenant ${key.tenantId}\``);
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
    if (error instanceof ExitError && error.exitCode === 2) {
      progress.finish(false, message);
      // Kept on the step (a gate's refusal names what clears it), so `status` says why it stopped.
      await persist({ ...state, status: 'failed', error: message }).catch((e: unknown) => log.error({ err: messageOf(e) }, 'could not record the refused step'));
      throw error;
    }
    state = { ...state, status: 'failed', error: message, durationMs: base.durationMs + (Date.now() - startedAt) };
    await persist(state).catch((e: unknown) => log.error({ err: messageOf(e) }, 'could not record the failed step'));
    progress.finish(false, message);
    log.error({ phase: key.phase, tenant: key.tenantId, step: key.stepId, err: message }, 'step failed; its committed batches are kept and the next run resumes');
    return reportOf(key, state, 'failed', message);
  }
}
