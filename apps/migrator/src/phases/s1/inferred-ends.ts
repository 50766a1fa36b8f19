import { inferEndedAt } from '@vc/domain/legacy';
import type { Cursor, StepContext } from '../../engine/types';
import { migratorBump, sessionStillMigrated } from '../still-migrated';

interface InferredEnd {
  id: string;
  started_at: Date | string;
  scheduled_end: Date | string | null;
  ended_at: Date | string | null;
  last_left: Date | string | null;
}

const asDate = (v: Date | string | null) => (v === null ? null : new Date(v));
const FIRST_ID = '00000000-0000-0000-0000-000000000000';

/**
 * The end of every migrated session whose legacy row had none (`migrated_from.endInferred`), re-inferred
 * now that its participants are loaded: the last participant leave, else scheduledEnd, else its start
 * (see `inferEndedAt`). S1 1.5 runs it once after the backfill; S4's delta sync after each participant
 * fold (new leaves may have arrived). Keyset batches by session id, each committed with `cursorOf(afterId)`;
 * only rows whose end changes are written (`bumpVersion`: once the service runs, a changed row is a new version),
 * and only rows still the migrator's (still-migrated.ts): an end the service wrote is the service's. Returns false
 * when interrupted.
 */
export async function refineInferredEnds(
  ctx: StepContext,
  options: { afterId?: string; bumpVersion?: boolean; countRead?: boolean; cursorOf: (afterId: string) => Cursor },
): Promise<boolean> {
  let afterId = options.afterId ?? FIRST_ID;
  const version = options.bumpVersion ? `, ${migratorBump('s')}` : '';
  for (;;) {
    const rows = await ctx.query<InferredEnd>(
      `select s.id, s.started_at, s.scheduled_end, s.ended_at,
              (select max(p.last_left_at) from session_participants p where p.session_id = s.id) as last_left
         from virtual_sessions s
        where s.tenant_id = $1 and s.legacy_id is not null and s.status = 'ended' and s.started_at is not null
          and s.migrated_from @> '{"endInferred": true}' and ${sessionStillMigrated('s')} and s.id > $2
        order by s.id limit $3`,
      [ctx.tenantId, afterId, ctx.options.batchSize],
    );
    if (rows.length === 0) return true;
    const changes = rows.flatMap((r) => {
      const endedAt = inferEndedAt(new Date(r.started_at), asDate(r.scheduled_end), asDate(r.last_left));
      return endedAt.getTime() === asDate(r.ended_at)?.getTime() ? [] : [{ id: r.id, endedAt }];
    });
    afterId = rows[rows.length - 1]!.id;
    await ctx.commit({
      cursor: options.cursorOf(afterId),
      // S4 counts legacy rows read; these are target rows, so it leaves them out (`countRead: false`).
      read: options.countRead === false ? 0 : rows.length,
      written: changes.length,
      write: async (tx) => {
        if (changes.length === 0) return;
        await tx.query(
          `update virtual_sessions s set ended_at = c.ended_at${version} from unnest($1::uuid[], $2::timestamptz[]) as c(id, ended_at) where s.id = c.id`,
          [changes.map((c) => c.id), changes.map((c) => c.endedAt.toISOString())],
        );
      },
    });
    if (ctx.signal.aborted) return false;
  }
}
