import { hostname } from 'node:os';
import type { DatabaseHandle } from '@vc/schema';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { MigratorConfig } from '../config';
import { UsageError } from './errors';
import { lockTenantPhase } from './lock';
import type { ProgressOptions } from './progress';
import { recordingServices } from './recorders';
import { addCounts, messageOf, runStep } from './run-step';
import type { ServiceRegistry } from './services';
import { closeAbandonedRuns, finishRun, HEARTBEAT_MS, heartbeatRun, loadCheckpoint, rejectCounts, resetSteps, startRun } from './state';
import { createTenantBoard } from './tenant-board';
import { withRolledBackTransaction } from './tx';
import type { KeyRange, Phase, PhaseId, RunOptions, SplitTenant, StepReport } from './types';

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
  /** What `phase.prepare` returned, handed to the steps as `ctx.prepared`. */
  prepared?: Record<string, unknown>;
  /** On a TTY a spinner, or one live row per tenant when several run; plain lines otherwise; nothing when quiet. */
  progress: ProgressOptions;
  /** How often a run says it is alive (vc_migration.runs.heartbeat_at); default {@link HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** One key range of a split tenant (a distributed plan's item): its steps read only that range, checkpointed under its key. */
  range?: KeyRange;
  /** A split tenant's whole-tenant run, after its key ranges: what they did, for the steps to take over. */
  split?: SplitTenant;
}

/** The `--json` summary of a phase (docs/design.md §8). */
export interface PhaseSummary {
  phase: string;
  tenant?: string;
  tenants?: string[];
  status: 'done' | 'failed' | 'interrupted';
  dryRun: boolean;
  /**
   * The as-of the steps classified rows at: a resumed run's is the one its interrupted predecessor fixed (the
   * phase's `storedAsOf`), not `--as-of` or now. When the tenants used different ones, the requested one, and
   * `asOfByTenant` has each tenant's.
   */
  asOf: string;
  /** Only when the tenants' steps used different as-ofs (some resumed): each tenant's. */
  asOfByTenant?: Record<string, string>;
  /** Only when some tenant's steps used an as-of other than the one asked for (`--as-of`, or now): that one. */
  requestedAsOf?: string;
  steps: StepReport[];
  rejects: Record<string, number>;
  warnings: Record<string, number>;
  errors?: Array<{ tenant: string; step: string; message: string }>;
  /** Dry runs: the outside calls that would change something, recorded instead of sent, by `system.operation`. */
  wouldSend?: Record<string, number>;
}

interface TenantOutcome {
  tenant: string;
  /** The as-of its steps ran at. */
  asOf: string;
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
  const requested = input.options.asOf.toISOString();
  const used = [...new Set(outcomes.map((o) => o.asOf))];
  const summary: PhaseSummary = {
    phase: input.phase.id,
    ...(input.tenants.length === 1 ? { tenant: input.tenants[0] } : { tenants: [...input.tenants] }),
    status: outcomes.some((o) => o.status === 'failed')
      ? 'failed'
      : outcomes.some((o) => o.status === 'interrupted') || outcomes.length < input.tenants.length
        ? 'interrupted'
        : 'done',
    dryRun: input.options.dryRun,
    asOf: used.length === 1 ? used[0]! : requested,
    ...(used.length > 1 ? { asOfByTenant: Object.fromEntries(outcomes.map((o) => [o.tenant, o.asOf])) } : {}),
    ...(used.some((a) => a !== requested) ? { requestedAsOf: requested } : {}),
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
  const lock = await lockTenantPhase(input.handle, tenantId, input.phase.id, input.range?.key);
  try {
    if (!input.options.dryRun) return await runTenantSteps(input, tenantId, lock.lost);
    return await withRolledBackTransaction(input.handle, (rehearsal) => runTenantSteps({ ...input, handle: rehearsal }, tenantId, lock.lost));
  } finally {
    await lock.release();
  }
}

async function runTenantSteps(input: RunPhaseInput, tenantId: string, lockLost: AbortSignal | undefined): Promise<TenantOutcome> {
  const { phase, handle } = input;
  const db = handle.db;
  const steps = phase.steps;
  if (input.options.restartStep !== undefined) {
    const from = steps.findIndex((s) => s.id === input.options.restartStep);
    if (from < 0)
      throw new UsageError(`--restart-step ${input.options.restartStep} is not a step of ${phase.id} (steps: ${steps.map((s) => s.id).join(', ')})`);
    await resetSteps(
      handle,
      tenantId,
      phase.id,
      steps.slice(from).map((s) => s.id),
    );
  }
  // After a restart's reset (which drops the as-of it kept) and before anything runs: the as-of the steps, the run
  // row and the summary all use.
  const stored = await phase.storedAsOf?.(db, tenantId, input.range?.key);
  if (stored && stored.getTime() !== input.options.asOf.getTime())
    input.log.info({ tenant: tenantId, asOf: stored.toISOString() }, 'resuming with the as-of of the interrupted run');
  const options: RunOptions = stored ? { ...input.options, asOf: stored } : input.options;
  const outcome: TenantOutcome = { tenant: tenantId, asOf: options.asOf.toISOString(), reports: [], status: 'done', rejects: {}, warnings: {}, errors: [] };
  // Under the tenant's exclusive lock no other run of the phase can be alive; a key range holds it shared only.
  if (!input.range) await closeAbandonedRuns(db, tenantId, phase.id);
  const runId = await startRun(db, tenantId, phase.id, { ...options, asOf: options.asOf.toISOString() }, { host: hostname(), pid: process.pid });
  // A rehearsal's run row is rolled back with it: nobody else can see it, so it need not say it is alive.
  const beat = options.dryRun
    ? undefined
    : setInterval(() => {
        heartbeatRun(db, runId).catch((error: unknown) => input.log.warn({ err: messageOf(error) }, 'heartbeat not recorded'));
      }, input.heartbeatMs ?? HEARTBEAT_MS);
  beat?.unref();
  let finished = false;
  try {
    for (const step of steps) {
      const key = { tenantId, phase: phase.id, stepId: step.id, ...(input.range ? { range: input.range.key } : {}) };
      const report = await runStep({ ...input, options, key, step, runId, ...(lockLost ? { lockLost } : {}) });
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
    outcome.rejects = await rejectCounts(db, tenantId, phase.id);
    for (const step of steps) {
      const cp = await loadCheckpoint(db, { tenantId, phase: phase.id, stepId: step.id, ...(input.range ? { range: input.range.key } : {}) });
      if (cp) addCounts(outcome.warnings, cp.warnings);
    }
    await finishRun(db, runId, outcome.status, { steps: outcome.reports, rejects: outcome.rejects, warnings: outcome.warnings });
    finished = true;
    return outcome;
  } finally {
    clearInterval(beat);
    // A refusal or a usage error thrown out of a step (exit 2) ends the run too: never `running` forever.
    if (!finished) await finishRun(db, runId, 'failed', {}).catch((e: unknown) => input.log.warn({ err: messageOf(e) }, 'could not close the run'));
  }
}
