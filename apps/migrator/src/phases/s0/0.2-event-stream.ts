import type { Step, StepContext } from '../../engine/types';
import { openWorkQueue } from '../../scale/queue';

/**
 * The work-queue stream of distributed plans (docs/scale-out.md), created next to VIRTUAL_CARE so that
 * the first `migrator enqueue` or `worker` finds it. Only the stream: the durable consumer is created by
 * the first `enqueue`, whose `--ack-wait` sets its AckWait.
 */
async function ensureWorkStream(ctx: StepContext): Promise<'created' | 'unchanged'> {
  const queue = await openWorkQueue(ctx.config);
  try {
    return await queue.ensureStream();
  } finally {
    await queue.close();
  }
}

/**
 * Plan S0 "Bootstrap NATS stream VIRTUAL_CARE": create it, or update it when its subjects or settings
 * differ, and create the work-queue stream `VC_MIGRATION_WORK` beside it. Without `VC_NATS_URL` there is
 * no stream: events stay in the outbox table until one is configured, and plans cannot be distributed.
 */
export const eventStreamStep: Step = {
  id: '0.2',
  title: 'Create or update the VIRTUAL_CARE and VC_MIGRATION_WORK JetStream streams',
  scope: 'global',
  rerunWhenDone: true,
  async run(ctx) {
    const events = await ctx.services.events();
    const { VC_NATS_STREAM: stream, VC_NATS_WORK_STREAM: workStream } = ctx.config;
    if (!events) {
      ctx.log.info('VC_NATS_URL is not set: no stream; events stay in the outbox');
      await ctx.commit({ cursor: { done: true }, read: 0, written: 0, facts: { stream: 'skipped', why: 'VC_NATS_URL not set; events stay in the outbox' } });
      return;
    }
    if (ctx.options.dryRun) {
      await ctx.commit({ cursor: { done: true }, read: 0, written: 0, facts: { stream: `would ensure ${stream}`, workStream: `would ensure ${workStream}` } });
      return;
    }
    const outcome = await events.ensureStream();
    const workOutcome = await ensureWorkStream(ctx);
    ctx.log.info({ outcome, stream, workStream, workOutcome }, 'JetStream streams ensured');
    const written = (outcome === 'unchanged' ? 0 : 1) + (workOutcome === 'unchanged' ? 0 : 1);
    await ctx.commit({ cursor: { done: true }, read: 0, written, facts: { stream, outcome, workStream, workOutcome } });
  },
};
