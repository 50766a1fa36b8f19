import type { Step } from '../../engine/types';

/**
 * Plan S0 "Bootstrap NATS stream VIRTUAL_CARE": create it, or update it when its subjects or settings
 * differ. Without `VC_NATS_URL` there is no stream: events stay in the outbox table until one is configured.
 */
export const eventStreamStep: Step = {
  id: '0.2',
  title: 'Create or update the VIRTUAL_CARE JetStream stream',
  scope: 'global',
  rerunWhenDone: true,
  async run(ctx) {
    const events = await ctx.services.events();
    if (!events) {
      ctx.log.info('VC_NATS_URL is not set: no stream; events stay in the outbox');
      await ctx.commit({ cursor: { done: true }, read: 0, written: 0, facts: { stream: 'skipped', why: 'VC_NATS_URL not set; events stay in the outbox' } });
      return;
    }
    if (ctx.options.dryRun) {
      await ctx.commit({ cursor: { done: true }, read: 0, written: 0, facts: { stream: `would ensure ${ctx.config.VC_NATS_STREAM}` } });
      return;
    }
    const outcome = await events.ensureStream();
    ctx.log.info({ outcome, stream: ctx.config.VC_NATS_STREAM }, 'JetStream stream ensured');
    await ctx.commit({ cursor: { done: true }, read: 0, written: outcome === 'unchanged' ? 0 : 1, facts: { stream: ctx.config.VC_NATS_STREAM, outcome } });
  },
};
