import type { Checkpoint, StepContext } from '../../engine/types';

/**
 * S1's as-of watermark: fixed by the first batch of 1.1 and kept in its checkpoint, so a resumed run
 * classifies historical vs deferred exactly as the interrupted one did, and s4's delta sync knows from
 * when legacy changes are its own.
 */
export async function s1AsOf(ctx: StepContext, own?: Checkpoint): Promise<Date> {
  const stored = (own?.facts.asOf as string | undefined) ?? ((await ctx.checkpointOf('s1', '1.1'))?.facts.asOf as string | undefined);
  if (stored === undefined) return ctx.options.asOf;
  if (stored !== ctx.options.asOf.toISOString()) ctx.log.info({ asOf: stored }, 'resuming with the as-of of the interrupted run');
  return new Date(stored);
}
