import { inferEndedAt } from '@vc/domain/legacy';
import type { Step } from '../../engine/types';
import { s1AsOf } from './as-of';

interface InferredEnd {
  id: string;
  started_at: Date | string;
  scheduled_end: Date | string | null;
  ended_at: Date | string | null;
  last_left: Date | string | null;
}

const asDate = (v: Date | string | null) => (v === null ? null : new Date(v));

/**
 * Plan 1.5: "All historical sessions loaded with status ended or cancelled". 1.1 mapped every status;
 * a started session without a legacy endedAt could only get scheduledEnd or its start then, because its
 * participants were not loaded yet. Now they are: its end becomes the last participant leave when there
 * is one (DESIGN §5 order). Then the phase's invariant is checked — no migrated session in any other
 * status — and the counts by status recorded with the as-of watermark for s4.
 */
export const historicalStatusStep: Step = {
  id: '1.5',
  title: 'All historical sessions loaded as ended or cancelled',
  async run(ctx, checkpoint) {
    let afterId = (checkpoint.cursor?.afterId as string | undefined) ?? '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const rows = await ctx.query<InferredEnd>(
        `select s.id, s.started_at, s.scheduled_end, s.ended_at,
                (select max(p.last_left_at) from session_participants p where p.session_id = s.id) as last_left
           from virtual_sessions s
          where s.tenant_id = $1 and s.legacy_id is not null and s.migrated_from @> '{"endInferred": true}' and s.id > $2
          order by s.id limit $3`,
        [ctx.tenantId, afterId, ctx.options.batchSize],
      );
      if (rows.length === 0) break;
      const changes = rows.flatMap((r) => {
        const endedAt = inferEndedAt(new Date(r.started_at), asDate(r.scheduled_end), asDate(r.last_left));
        return endedAt.getTime() === asDate(r.ended_at)?.getTime() ? [] : [{ id: r.id, endedAt }];
      });
      afterId = rows[rows.length - 1]!.id;
      await ctx.commit({
        cursor: { afterId },
        read: rows.length,
        written: changes.length,
        write: async (tx) => {
          if (changes.length === 0) return;
          await tx.query(
            `update virtual_sessions s set ended_at = c.ended_at from unnest($1::uuid[], $2::timestamptz[]) as c(id, ended_at) where s.id = c.id`,
            [changes.map((c) => c.id), changes.map((c) => c.endedAt.toISOString())],
          );
        },
      });
      if (ctx.signal.aborted) return;
    }
    const byStatus = await ctx.query<{ status: string; n: number }>(
      `select status::text as status, count(*)::int as n from virtual_sessions where tenant_id = $1 and legacy_id is not null group by 1 order by 1`,
      [ctx.tenantId],
    );
    const counts = Object.fromEntries(byStatus.map((r) => [r.status, r.n]));
    const stray = byStatus.filter((r) => r.status !== 'ended' && r.status !== 'cancelled');
    if (stray.length > 0 && !ctx.options.dryRun) {
      throw new Error(`tenant ${ctx.tenantId} has migrated sessions that are neither ended nor cancelled: ${JSON.stringify(Object.fromEntries(stray.map((r) => [r.status, r.n])))}`);
    }
    const asOf = await s1AsOf(ctx);
    return { facts: { byStatus: { ended: counts.ended ?? 0, cancelled: counts.cancelled ?? 0 }, asOf: asOf.toISOString() } };
  },
};
