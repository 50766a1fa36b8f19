import type { Step } from '../../engine/types';
import { s1AsOf } from './as-of';
import { refineInferredEnds } from './inferred-ends';

/**
 * Plan 1.5: "All historical sessions loaded with status ended or cancelled". 1.1 mapped every status;
 * a started session without a legacy endedAt could only get scheduledEnd or its start then, because its
 * participants were not loaded yet. Now they are: its end becomes the last participant leave when there
 * is one (docs/design.md §5 order). Then the phase's invariant is checked — no migrated session in any other
 * status — and the counts by status recorded with the as-of watermark for s4.
 */
export const historicalStatusStep: Step = {
  id: '1.5',
  title: 'All historical sessions loaded as ended or cancelled',
  async run(ctx, checkpoint) {
    const done = await refineInferredEnds(ctx, { afterId: checkpoint.cursor?.afterId as string | undefined, cursorOf: (afterId) => ({ afterId }) });
    if (!done) return;
    const byStatus = await ctx.query<{ status: string; n: number }>(
      `select status::text as status, count(*)::int as n from virtual_sessions where tenant_id = $1 and legacy_id is not null group by 1 order by 1`,
      [ctx.tenantId],
    );
    const counts = Object.fromEntries(byStatus.map((r) => [r.status, r.n]));
    const stray = byStatus.filter((r) => r.status !== 'ended' && r.status !== 'cancelled');
    if (stray.length > 0) {
      throw new Error(
        `tenant ${ctx.tenantId} has migrated sessions that are neither ended nor cancelled: ${JSON.stringify(Object.fromEntries(stray.map((r) => [r.status, r.n])))}`,
      );
    }
    const asOf = await s1AsOf(ctx);
    return { facts: { byStatus: { ended: counts.ended ?? 0, cancelled: counts.cancelled ?? 0 }, asOf: asOf.toISOString() } };
  },
};
