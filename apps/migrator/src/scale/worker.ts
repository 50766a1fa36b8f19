import { hostname } from 'node:os';
import type { Database } from '@vc/schema';
import type { WorkMessage, WorkQueue } from '@vc/integrations/nats';
import { loadConfig } from '../config';
import { runPhase } from '../engine/run-phase';
import type { CommandContext } from '../commands/context';
import { LockHeld } from '../engine/errors';
import { runLockKey } from '../engine/lock';
import { isPhaseId, loadPhase } from '../phases';
import { attemptsOf, heartbeat, itemStatus, markDone, markFailed, markQueued, markRunning, restoreRunner, tenantItems, type Worker } from './item-state';
import { itemWork, prerequisites } from './split';
import { loadPlanOptions, runOptionsOf, type WorkPayload } from './plan';

export interface WorkerOptions {
  /** Items run at once by this process (lanes, each pulling one item at a time). */
  concurrency: number;
  /** Step failures of one item before it is terminated and recorded failed. */
  maxAttempts: number;
  /** Redelivery delay after a retryable failure or a lock held elsewhere. */
  retryDelayMs: number;
  /** How long one pull waits for an item before pulling again. */
  pollMs: number;
  signal: AbortSignal;
}

export interface WorkerSummary {
  worker: Worker;
  done: number;
  requeued: number;
  failed: number;
}

type Outcome = 'done' | 'requeued' | 'failed';

/** Redelivery delay of an item waiting for other items of its tenant (a split tenant's stages), at most. */
const WAIT_DELAY_MS = 2_000;

/**
 * Pulls items until `signal` aborts. Each lane takes one item, runs it through the step engine (advisory
 * lock, checkpoints), heartbeats with in-progress acks meanwhile, then acks / naks / terms. A drain (SIGTERM)
 * lets the running step commit its batch; the item is nak'ed for immediate redelivery and resumes elsewhere.
 */
export async function runWorker(ctx: CommandContext, queue: WorkQueue, opts: WorkerOptions): Promise<WorkerSummary> {
  const worker: Worker = { host: hostname(), pid: process.pid };
  const summary: WorkerSummary = { worker, done: 0, requeued: 0, failed: 0 };
  const ackWaitMs = await queue.ackWaitMs();
  const lane = async () => {
    while (!opts.signal.aborted) {
      const got = await queue.fetch(1, opts.pollMs, opts.signal).catch((error: unknown) => {
        // A pull can fail while NATS restarts or the process was starved; the next pull retries.
        ctx.log.warn({ err: messageOf(error) }, 'pull failed; pulling again');
        return new Promise<[]>((resolve) => setTimeout(() => resolve([]), opts.pollMs));
      });
      for (const msg of got) {
        const outcome = await handle(ctx, msg, worker, { ...opts, heartbeatMs: Math.max(200, Math.floor(ackWaitMs / 3)) });
        summary[outcome] += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, lane));
  return summary;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function handle(ctx: CommandContext, msg: WorkMessage, worker: Worker, opts: WorkerOptions & { heartbeatMs: number }): Promise<Outcome> {
  const db = ctx.handle.db;
  let payload: WorkPayload;
  try {
    payload = JSON.parse(new TextDecoder().decode(msg.data)) as WorkPayload;
    if (!isPhaseId(payload.phase) || typeof payload.tenantId !== 'string' || typeof payload.planId !== 'string')
      throw new Error('fields planId, itemKey, phase, tenantId expected');
  } catch (error) {
    ctx.log.error({ subject: msg.subject, err: messageOf(error) }, 'work item is not a migrator item; terminated');
    msg.term();
    return 'failed';
  }
  const { planId, itemKey } = payload;
  const log = ctx.log.child({ plan: planId, item: itemKey, delivery: msg.deliveryCount });
  const options = await loadPlanOptions(db, planId);
  if (!options) {
    log.error('the plan of this item is not in the target database (another VC_DATABASE_URL?); terminated');
    msg.term();
    return 'failed';
  }
  // PostgreSQL says what is done: a redelivery of a finished item (its worker died before the ack) is just acked.
  if ((await itemStatus(db, planId, itemKey)) === 'done') {
    await msg.ack();
    return 'done';
  }
  // A split tenant's items run in order: its 1.4 ranges after its 1.1 ranges, its whole phase after all.
  const siblings = await tenantItems(db, planId, payload.tenantId);
  if (!siblings.some((s) => s.itemKey === itemKey)) {
    log.error('the item is not in its plan (another VC_DATABASE_URL?); terminated');
    msg.term();
    return 'failed';
  }
  const wait = prerequisites(siblings, itemKey);
  if (wait.failed) {
    await markFailed(db, planId, itemKey, `waits for item ${wait.failed} of the same tenant, which failed`);
    msg.term();
    return 'failed';
  }
  if (wait.pending.length > 0) {
    log.info({ waitingFor: wait.pending.length }, 'waiting for other items of the tenant; redelivery later');
    // Short: the wait ends when another worker finishes, and this item should follow at once.
    msg.nak(Math.min(opts.retryDelayMs, WAIT_DELAY_MS));
    return 'requeued';
  }
  const work = itemWork(planId, siblings, itemKey);
  const whole = await loadPhase(payload.phase);
  const phase = work.kind === 'range' ? { ...whole, steps: whole.steps.filter((s) => s.id === work.stepId) } : whole;
  try {
    loadConfig(process.env, phase.requires ?? []);
  } catch (error) {
    log.error({ err: messageOf(error) }, 'this worker lacks a setting the phase needs; the item goes to another worker');
    msg.nak(opts.retryDelayMs);
    return 'requeued';
  }
  // Twice the beat: a live worker beats every heartbeatMs, so one this far behind has stopped (dead or paused;
  // markRunning tells them apart by the run lock).
  const claim = await markRunning(db, planId, itemKey, worker, {
    lockKey: runLockKey(payload.tenantId, payload.phase, work.kind === 'range' ? work.range.key : undefined),
    staleMs: 2 * opts.heartbeatMs,
  });
  const previous = claim.previous;
  if (claim.died) {
    const { worker: dead, attempts, error } = claim.died;
    log.warn(
      { died: dead, attempts, maxAttempts: opts.maxAttempts },
      'the previous delivery of this item ended with its worker dead: counted as a failed attempt',
    );
    if (attempts >= opts.maxAttempts) {
      await markFailed(db, planId, itemKey, `${attempts} attempt(s), --max-attempts ${opts.maxAttempts}; the last: ${error}`, false);
      msg.term();
      log.error({ attempts }, 'item failed: its workers died on it; terminated');
      return 'failed';
    }
  }
  const beat = setInterval(() => {
    msg.working();
    heartbeat(db, planId, itemKey, worker).catch((error: unknown) => log.warn({ err: messageOf(error) }, 'heartbeat not recorded'));
  }, opts.heartbeatMs);
  try {
    const summary = await runPhase({
      phase,
      tenants: [payload.tenantId],
      options: runOptionsOf(options),
      config: ctx.config,
      handle: ctx.handle,
      services: ctx.services,
      log,
      signal: opts.signal,
      progress: { tty: false, quiet: true },
      ...(work.kind === 'range' ? { range: work.range } : work.split ? { split: work.split } : {}),
    });
    if (summary.status === 'done') {
      await markDone(db, planId, itemKey);
      await msg.ack();
      log.info('item done');
      return 'done';
    }
    if (summary.status === 'interrupted') {
      await markQueued(db, planId, itemKey, worker);
      msg.nak(0);
      log.info('drained: checkpoint kept, item handed back for immediate redelivery');
      return 'requeued';
    }
    return await failed(db, msg, worker, payload, (summary.errors ?? []).map((e) => `${e.step}: ${e.message}`).join('; ') || 'failed', opts);
  } catch (error) {
    // Another process holds this tenant's lock: the item's earlier delivery is still running (a paused worker). No failure.
    if (error instanceof LockHeld) {
      await restoreRunner(db, planId, itemKey, previous);
      log.info('another worker holds the lock of this item; redelivery later');
      msg.nak(opts.retryDelayMs);
      return 'requeued';
    }
    return await failed(db, msg, worker, payload, messageOf(error), opts);
  } finally {
    clearInterval(beat);
  }
}

async function failed(db: Database, msg: WorkMessage, worker: Worker, item: WorkPayload, error: string, opts: WorkerOptions): Promise<Outcome> {
  const attempts = (await attemptsOf(db, item.planId, item.itemKey)) + 1;
  if (attempts >= opts.maxAttempts) {
    await markFailed(db, item.planId, item.itemKey, error);
    msg.term();
    return 'failed';
  }
  await markQueued(db, item.planId, item.itemKey, worker, error, true);
  msg.nak(opts.retryDelayMs);
  return 'requeued';
}
