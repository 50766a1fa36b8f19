import {
  groupParticipantEvents,
  isLeftWithoutJoin,
  mergeParticipant,
  parseParticipantEvent,
  PARTICIPANT_ACTIONS,
  PARTICIPANT_ENTITY_TYPE,
  tallyCodes,
  type LegacyAuditLog,
  type ParticipantAggregate,
} from '@vc/domain/legacy';
import type { Checkpoint, RejectInput, StepContext } from '../../engine/types';
import type { ReadOptions } from '../../legacy/types';
import { upsertParticipants } from '../s1/participant-rows';

const PARTICIPANT_HISTORY: NonNullable<ReadOptions['where']> = [
  { column: 'entityType', in: [PARTICIPANT_ENTITY_TYPE] },
  { column: 'action', in: PARTICIPANT_ACTIONS },
];
const LEFT_DETAIL = 'this actor left the session but never joined it';
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
  const all = dryAggregates(ctx);
  for (const a of aggregates) {
    const key = `${a.sessionLegacyId}\u0000${a.actorRef}`;
    const seen = all.get(key);
    all.set(key, seen ? mergeParticipant(seen, a) : a);
  }
  ctx.scratch.set(dryAggregatesKey(ctx), all);
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

/** The events of leave-only participants `wanted` (`<legacy session id>\0<actor>`), as `left_without_join` rejects. */
async function leaveRejects(ctx: StepContext, legacyIds: readonly string[], wanted: ReadonlySet<string>): Promise<RejectInput[]> {
  const source = await ctx.services.legacy();
  const rejects: RejectInput[] = [];
  const where = [...PARTICIPANT_HISTORY, { column: 'entityId', in: [...new Set(legacyIds)] }];
  for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where, batchSize: ctx.options.batchSize })) {
    for (const row of batch.rows) {
      const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
      if (parsed.kind === 'event' && wanted.has(`${parsed.event.sessionLegacyId}\u0000${parsed.event.actorRef}`)) {
        rejects.push({ legacyKey: parsed.event.auditId, reason: 'left_without_join', detail: LEFT_DETAIL, raw: { ...row } });
      }
    }
  }
  return rejects;
}

/**
 * Once every event is folded, a participant of a target with leaves and no join never joined (S1's
 * `left_without_join`): the row goes and its events are rejected. Each round handles up to a batch of such
 * participants and commits; settled ones are gone, so a resumed run picks up the rest.
 */
async function settle(ctx: StepContext, targets: Targets, position: string | null): Promise<void> {
  if (ctx.options.dryRun) {
    const ghosts = [...dryAggregates(ctx).values()].filter(isLeftWithoutJoin);
    const rejects = await leaveRejects(ctx, ghosts.map((g) => g.sessionLegacyId), new Set(ghosts.map((g) => `${g.sessionLegacyId}\u0000${g.actorRef}`)));
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
    const rejects = await leaveRejects(ctx, ghosts.map((g) => g.legacy_id), new Set(ghosts.map((g) => `${g.legacy_id}\u0000${g.participant_ref}`)));
    await ctx.commit({
      cursor: { stage: 'participants', targets, position, settling: true },
      read: 0,
      written: 0,
      rejects,
      write: async (tx) => {
        await tx.query(
          `delete from session_participants p using unnest($1::uuid[], $2::text[]) as g(session_id, participant_ref)
            where p.session_id = g.session_id and p.participant_ref = g.participant_ref and p.join_count = 0`,
          [ghosts.map((g) => g.session_id), ghosts.map((g) => g.participant_ref)],
        );
      },
    });
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
