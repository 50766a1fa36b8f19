import {
  groupParticipantEvents,
  isLeftWithoutJoin,
  parseParticipantEvent,
  tallyCodes,
  type LegacyAuditLog,
  type ParticipantAggregate,
} from '@vc/domain/legacy';
import type { Checkpoint, StepContext } from '../../engine/types';
import { deleteLeaveOnly, leftWithoutJoinRejects, mergeAggregates, PARTICIPANT_HISTORY } from '../s1/participant-history';
import { upsertParticipants } from '../s1/participant-rows';

// Per step: 4.1 and 4.3 share a dry run's scratch, and each would fold on its own.
const dryAggregatesKey = (ctx: StepContext) => `s4:${ctx.stepId}:dry-participants`;
/** Cursor of this stage: the target sessions (legacy id → id), the AuditLog position, and whether folding is over. */
type Targets = Record<string, string>;

/** The ended delta sessions with no participant yet; fixed in the cursor so a resumed run folds the same ones. */
async function findTargets(ctx: StepContext, watermark: Date): Promise<Targets> {
  const rows = await ctx.query<{ legacy_id: string; id: string }>(
    `select s.legacy_id, s.id from virtual_sessions s
      where s.tenant_id = $1 and s.legacy_id is not null and s.status = 'ended' and (s.updated_at >= $2 or s.created_at >= $2)
        and not exists (select 1 from session_participants p where p.session_id = s.id)`,
    [ctx.tenantId, watermark.toISOString()],
  );
  return Object.fromEntries(rows.map((r) => [r.legacy_id, r.id]));
}

/** What a dry run folded so far (nothing is written, so the settle and the count read this). */
function dryAggregates(ctx: StepContext): Map<string, ParticipantAggregate> {
  return (ctx.scratch.get(dryAggregatesKey(ctx)) as Map<string, ParticipantAggregate> | undefined) ?? new Map<string, ParticipantAggregate>();
}

function foldDry(ctx: StepContext, aggregates: readonly ParticipantAggregate[]): void {
  ctx.scratch.set(dryAggregatesKey(ctx), mergeAggregates(dryAggregates(ctx), aggregates));
}

/**
 * Every participant event of the targets, folded batch by batch: a participant's join and leave may be
 * in different batches, and the upsert merges them as S1 does. Leave-only participants are kept until
 * every event is folded (a later batch may hold the join); {@link settle} deals with them.
 */
async function foldEvents(ctx: StepContext, targets: Targets, after: string | null): Promise<boolean> {
  const source = await ctx.services.legacy();
  for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where: PARTICIPANT_HISTORY, after, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    const kept = batch.rows.flatMap((row) => {
      const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
      return parsed.kind === 'event' && targets[parsed.event.sessionLegacyId] ? [parsed] : [];
    });
    const aggregates = groupParticipantEvents(kept.map((k) => k.event)).map((aggregate) => ({ sessionId: targets[aggregate.sessionLegacyId]!, aggregate }));
    if (ctx.options.dryRun) foldDry(ctx, aggregates.map((a) => a.aggregate));
    await ctx.commit({
      cursor: { stage: 'participants', targets, position: batch.position },
      // Every AuditLog row this pass consumed, kept or not: rates and progress count source rows.
      read: batch.rows.length,
      written: 0,
      warnings: tallyCodes(kept.map((k) => k.warnings)) as Record<string, number>,
      write: (tx) => upsertParticipants(tx, ctx.tenantId, aggregates),
    });
    if (ctx.signal.aborted) return false;
  }
  return true;
}

/**
 * Once every event is folded, a participant of a target with leaves and no join never joined (S1's
 * `left_without_join`): the row goes and its events are rejected. Each round handles up to a batch of such
 * participants and commits; settled ones are gone, so a resumed run picks up the rest.
 */
async function settle(ctx: StepContext, targets: Targets, position: string | null): Promise<void> {
  if (ctx.options.dryRun) {
    const ghosts = [...dryAggregates(ctx).values()].filter(isLeftWithoutJoin).map((g) => ({ legacyId: g.sessionLegacyId, actorRef: g.actorRef }));
    const rejects = await leftWithoutJoinRejects(await ctx.services.legacy(), ctx.tenantId, ctx.options.batchSize, ghosts);
    await ctx.commit({ cursor: { stage: 'participants', targets, position, settling: true }, read: 0, written: 0, rejects });
    return;
  }
  for (;;) {
    const ghosts = await ctx.query<{ session_id: string; legacy_id: string; participant_ref: string }>(
      `select p.session_id, s.legacy_id, p.participant_ref from session_participants p join virtual_sessions s on s.id = p.session_id
        where p.tenant_id = $1 and p.session_id = any($2::uuid[]) and p.source = 'audit_backfill' and p.join_count = 0
        order by p.session_id, p.participant_ref limit $3`,
      [ctx.tenantId, Object.values(targets), ctx.options.batchSize],
    );
    if (ghosts.length === 0) return;
    const leaveOnly = ghosts.map((g) => ({ legacyId: g.legacy_id, actorRef: g.participant_ref }));
    const rejects = await leftWithoutJoinRejects(await ctx.services.legacy(), ctx.tenantId, ctx.options.batchSize, leaveOnly);
    await ctx.commit({ cursor: { stage: 'participants', targets, position, settling: true }, read: 0, written: 0, rejects, write: (tx) => deleteLeaveOnly(tx, ghosts) });
  }
}

/** Participants the targets now have (what a dry run would have written). */
async function participantCount(ctx: StepContext, targets: Targets): Promise<number> {
  if (ctx.options.dryRun) return [...dryAggregates(ctx).values()].filter((a) => !isLeftWithoutJoin(a)).length;
  const [row] = await ctx.query<{ n: number }>(`select count(*)::int as n from session_participants where session_id = any($1::uuid[])`, [Object.values(targets)]);
  return row?.n ?? 0;
}

/**
 * Participants of the sessions the delta sync loaded that have none yet: their AuditLog events were
 * orphans when S1 ran (the session was not loaded) or did not exist then. Sessions S1 already backfilled
 * are left alone, so no event is ever folded twice. Folded across AuditLog batches like S1 1.4 (a leave
 * whose join was in an earlier batch still sets `last_left_at`); participants that only ever left are
 * settled at the end as `left_without_join`. Batches commit with the cursor (exactly once each).
 * Returns false when interrupted; ends with the cursor at the `billing` stage.
 */
export async function foldDeltaParticipants(ctx: StepContext, checkpoint: Checkpoint, watermark: Date): Promise<boolean> {
  let targets = checkpoint.cursor?.targets as Targets | undefined;
  const position = (checkpoint.cursor?.position as string | null | undefined) ?? null;
  if (!targets) {
    targets = await findTargets(ctx, watermark);
    await ctx.commit({ cursor: { stage: 'participants', targets, position: null }, read: 0, written: 0 });
  }
  if (Object.keys(targets).length > 0) {
    if (checkpoint.cursor?.settling !== true && !(await foldEvents(ctx, targets, position))) return false;
    await settle(ctx, targets, position);
  }
  await ctx.commit({ cursor: { stage: 'billing' }, read: 0, written: await participantCount(ctx, targets) });
  return true;
}
