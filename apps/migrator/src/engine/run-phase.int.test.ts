import { createDatabase, migrate, type DatabaseHandle } from '@vc/schema';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostname } from 'node:os';
import { loadConfig } from '../config';
import { UsageError } from './errors';
import { runPhase, tenantConcurrency } from './run-phase';
import { createServices } from './services';
import type { Batch, Phase, RunOptions, Step } from './types';

/**
 * The engine on PGlite, with a synthetic phase: what every phase relies on — a batch's writes and its
 * checkpoint commit together, a failed step resumes from its last commit, the reject-rate gate, dry runs.
 */
let handle: DatabaseHandle;

beforeAll(async () => {
  handle = await createDatabase('pglite:memory');
  await migrate(handle);
  await handle.pglite!.exec('create table public.engine_probe (n int primary key)');
});

beforeEach(async () => {
  await handle.pglite!.exec('truncate engine_probe, vc_migration.step_checkpoints, vc_migration.rejects, vc_migration.runs');
});

afterAll(async () => {
  await handle.close();
});

const options = (over: Partial<RunOptions> = {}): RunOptions => ({
  dryRun: false,
  batchSize: 10,
  concurrency: 1,
  asOf: new Date('2026-01-01T00:00:00Z'),
  maxRejectRate: 0.01,
  ...over,
});

/** A step writing 1..total in batches of 10, failing once when it reaches `failAt` (inside the batch's write). */
function countingStep(total: number, opts: { failAt?: number; rejectEvery?: number } = {}): Step & { failed: boolean } {
  const step = {
    id: 'x.1',
    title: 'count',
    failed: false as boolean,
    async run(ctx, checkpoint) {
      for (let next = Number(checkpoint.cursor?.next ?? 1); next <= total; next += 10) {
        const ns = Array.from({ length: Math.min(10, total - next + 1) }, (_, i) => next + i);
        const rejects = opts.rejectEvery
          ? ns.filter((n) => n % opts.rejectEvery! === 0).map((n) => ({ legacyKey: String(n), reason: 'orphan_event' as const, raw: { n } }))
          : [];
        const batch: Batch = {
          cursor: { next: next + 10 },
          read: ns.length,
          written: ns.length - rejects.length,
          rejects,
          warnings: { malformed_payload: 1 },
          write: async (tx) => {
            await tx.insertMany(
              'engine_probe',
              ['n'],
              ns.filter((n) => !rejects.some((r) => r.legacyKey === String(n))).map((n) => [n]),
            );
            if (opts.failAt !== undefined && ns.includes(opts.failAt) && !step.failed) {
              step.failed = true;
              throw new Error(`probe failure at ${opts.failAt}`);
            }
          },
        };
        await ctx.commit(batch);
      }
    },
  } satisfies Step & { failed: boolean };
  return step;
}

async function run(step: Step, runOptions: RunOptions = options(), tenants: readonly string[] = ['t1'], phaseId: Phase['id'] = 's1', heartbeatMs?: number) {
  const phase: Phase = { id: phaseId, title: 'probe', steps: [step] };
  const services = createServices(loadConfig({}));
  return runPhase({
    phase,
    tenants,
    options: runOptions,
    config: loadConfig({}),
    handle,
    services,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    progress: { tty: false, quiet: true },
    ...(heartbeatMs ? { heartbeatMs } : {}),
  });
}

/**
 * A step that writes `tenant:n` rows and records how many tenants are inside it at once. The first
 * `meet` tenants wait for each other before writing, so the run can only finish if they overlap.
 */
function overlappingStep(opts: { meet: number; failTenant?: string }): Step & { maxInside: number } {
  let inside = 0;
  let arrived = 0;
  let allArrived!: () => void;
  const met = new Promise<void>((resolve) => (allArrived = resolve));
  const step = {
    id: 'x.1',
    title: 'overlap',
    maxInside: 0,
    async run(ctx) {
      inside += 1;
      step.maxInside = Math.max(step.maxInside, inside);
      arrived += 1;
      if (arrived === opts.meet) allArrived();
      if (arrived <= opts.meet) await met;
      try {
        if (ctx.tenantId === opts.failTenant) throw new Error(`probe failure in ${ctx.tenantId}`);
        const n = Number(ctx.tenantId.slice(1));
        await ctx.commit({ cursor: { done: true }, read: 1, written: 1, write: async (tx) => void (await tx.insertMany('engine_probe', ['n'], [[n]])) });
      } finally {
        inside -= 1;
      }
    },
  } satisfies Step & { maxInside: number };
  return step;
}

const rows = async (sql: string) => (await handle.pglite!.query<Record<string, unknown>>(sql)).rows;

describe('step engine', () => {
  it('a batch whose write fails leaves neither its rows nor its checkpoint; the next run resumes there and ends exactly-once', async () => {
    const step = countingStep(35, { failAt: 25 });
    const failed = await run(step);
    expect([failed.status, failed.steps[0]!.status, failed.steps[0]!.error]).toEqual(['failed', 'failed', 'probe failure at 25']);
    expect(await rows('select count(*)::int as n from engine_probe')).toEqual([{ n: 20 }]);
    expect(await rows(`select status, cursor, read, written from vc_migration.step_checkpoints`)).toEqual([
      { status: 'failed', cursor: { next: 21 }, read: 20, written: 20 },
    ]);

    const resumed = await run(step);
    expect([resumed.status, resumed.steps[0]]).toEqual(['done', expect.objectContaining({ status: 'done', read: 35, written: 35, rejected: 0, warnings: 4 })]);
    expect(await rows('select count(*)::int as n, sum(n)::int as s from engine_probe')).toEqual([{ n: 35, s: (35 * 36) / 2 }]);
  });

  it('a finished step is skipped on the next run', async () => {
    await run(countingStep(12));
    const again = await run(countingStep(12));
    expect(again.steps.map((s) => [s.status, s.read])).toEqual([['skipped', 12]]);
  });

  it('rejects are kept with their raw rows, and a step past --max-reject-rate fails naming the rate and the command to look', async () => {
    const summary = await run(countingStep(20, { rejectEvery: 5 }), options({ maxRejectRate: 0.1 }));
    expect(summary.steps[0]!.error).toBe(
      'step x.1 of tenant t1 rejected 4 of 20 rows (20.00%), above --max-reject-rate 0.1; see `migrator rejects --tenant t1`',
    );
    expect(await rows(`select legacy_key, reason, raw from vc_migration.rejects order by legacy_key::int`)).toEqual(
      [5, 10, 15, 20].map((n) => ({ legacy_key: String(n), reason: 'orphan_event', raw: { n } })),
    );
    const tolerant = await run(countingStep(20, { rejectEvery: 5 }), options({ maxRejectRate: 0.25 }));
    expect([tolerant.status, tolerant.rejects]).toEqual(['done', { orphan_event: 4 }]);
  });

  it('a dry run past --max-reject-rate points at the tally it printed, not at `migrator rejects` (a dry run keeps none)', async () => {
    const summary = await run(countingStep(20, { rejectEvery: 5 }), options({ dryRun: true, maxRejectRate: 0.1 }));
    expect([summary.status, summary.rejects, summary.steps[0]!.error]).toEqual([
      'failed',
      { orphan_event: 4 },
      'step x.1 of tenant t1 rejected 4 of 20 rows (20.00%), above --max-reject-rate 0.1; a dry run keeps no rejects: their reasons are counted under the table (`rejects:`, --json `rejects`)',
    ]);
    expect(await rows('select count(*)::int as n from vc_migration.rejects')).toEqual([{ n: 0 }]);
  });

  it('a dry run writes nothing (no rows, checkpoints, rejects or runs) and reports what would happen', async () => {
    const summary = await run(countingStep(20, { rejectEvery: 10 }), options({ dryRun: true, maxRejectRate: 0.5 }));
    expect([summary.status, summary.dryRun, summary.rejects, summary.warnings, summary.steps[0]!.written]).toEqual([
      'done',
      true,
      { orphan_event: 2 },
      { malformed_payload: 2 },
      18,
    ]);
    expect(
      await rows(
        `select (select count(*) from engine_probe)::int + (select count(*) from vc_migration.step_checkpoints)::int + (select count(*) from vc_migration.rejects)::int + (select count(*) from vc_migration.runs)::int as n`,
      ),
    ).toEqual([{ n: 0 }]);
  });

  it('--restart-step forgets the checkpoint and the rejects of the step, then runs it again', async () => {
    await run(countingStep(20, { rejectEvery: 10 }), options({ maxRejectRate: 0.5 }));
    await handle.pglite!.exec('delete from engine_probe');
    const again = await run(countingStep(20, { rejectEvery: 10 }), options({ maxRejectRate: 0.5, restartStep: 'x.1' }));
    expect([again.steps[0]!.status, again.steps[0]!.read, again.rejects]).toEqual(['done', 20, { orphan_event: 2 }]);
    expect(await rows('select count(*)::int as n from engine_probe')).toEqual([{ n: 18 }]);
  });

  it('s1 runs two tenants at a time, reports them in tenant order, and a failed tenant leaves the others done', async () => {
    const tenants = ['t1', 't2', 't3', 't4', 't5'];
    expect(tenantConcurrency({ id: 's1' }, tenants)).toBe(2);
    const step = overlappingStep({ meet: 2, failTenant: 't2' });
    const summary = await run(step, options(), tenants);
    expect(step.maxInside).toBe(2);
    expect(summary.steps.map((s) => `${s.tenant} ${s.status}`)).toEqual(['t1 done', 't2 failed', 't3 done', 't4 done', 't5 done']);
    expect([summary.status, summary.tenants, summary.errors]).toEqual(['failed', tenants, [{ tenant: 't2', step: 'x.1', message: 'probe failure in t2' }]]);
    expect(await rows('select n from engine_probe order by n')).toEqual([{ n: 1 }, { n: 3 }, { n: 4 }, { n: 5 }]);
  });

  it('phases not known to be tenant-independent run their tenants one at a time', async () => {
    expect(tenantConcurrency({ id: 's3' }, ['t1', 't2', 't3'])).toBe(1);
    const step = overlappingStep({ meet: 1 });
    const summary = await run(step, options(), ['t1', 't2', 't3'], 's3');
    expect([summary.status, step.maxInside]).toEqual(['done', 1]);
  });

  it('a run records its host and pid and heartbeats while its step runs', async () => {
    let beats = 0;
    const step: Step = {
      id: 'x.1',
      title: 'wait for two heartbeats',
      async run(ctx) {
        let last: string | undefined;
        // Bounded: 400 polls; the heartbeat comes every 20 ms.
        for (let i = 0; i < 400 && beats < 2; i += 1) {
          const [row] = await ctx.query<{ at: string }>('select heartbeat_at::text as at from vc_migration.runs where id = $1', [ctx.runId]);
          if (row?.at !== last) [beats, last] = [beats + 1, row?.at];
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
    };
    const summary = await run(step, options(), ['t1'], 's1', 20);
    expect(summary.status).toBe('done');
    expect(beats).toBe(2);
    expect(await rows('select status, host, pid, heartbeat_at is not null as beat from vc_migration.runs')).toEqual([
      { status: 'done', host: hostname(), pid: process.pid, beat: true },
    ]);
  });

  it('a step refused with exit 2 (a gate, a missing setting) keeps why on its checkpoint and ends its run failed, not running', async () => {
    const step: Step = { id: 'x.1', title: 'refuse', run: () => Promise.reject(new UsageError('refused by its gates: probe')) };
    await expect(run(step)).rejects.toThrow('refused by its gates: probe');
    expect(await rows('select status, error from vc_migration.step_checkpoints')).toEqual([{ status: 'failed', error: 'refused by its gates: probe' }]);
    expect(await rows('select status from vc_migration.runs')).toEqual([{ status: 'failed' }]);
  });
});
