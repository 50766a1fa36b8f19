import { groupParticipantEvents, isLeftWithoutJoin, parseParticipantEvent, PARTICIPANT_ACTIONS, PARTICIPANT_ENTITY_TYPE, type LegacyAuditLog } from '@vc/domain/legacy';
import type { Checkpoint, StepContext } from '../../engine/types';
import { upsertParticipants } from '../s1/participant-rows';

/**
 * Participants of the sessions the delta sync loaded that have none yet: their AuditLog events were
 * orphans when S1 ran (the session was not loaded) or did not exist then. Sessions S1 already backfilled
 * are left alone, so no event is ever folded twice. The target set is fixed in the cursor on the first
 * pass, so a resumed run folds the same sessions; batches commit with the cursor (exactly once each).
 * A participant whose events in a batch are only leaves is skipped, as S1 rejects left_without_join.
 */
export async function foldDeltaParticipants(ctx: StepContext, checkpoint: Checkpoint, watermark: Date): Promise<boolean> {
  let targets = checkpoint.cursor?.targets as Record<string, string> | undefined;
  let position = (checkpoint.cursor?.position as string | null | undefined) ?? null;
  if (!targets) {
    const rows = await ctx.query<{ legacy_id: string; id: string }>(
      `select s.legacy_id, s.id from virtual_sessions s
        where s.tenant_id = $1 and s.legacy_id is not null and s.status = 'ended' and (s.updated_at >= $2 or s.created_at >= $2)
          and not exists (select 1 from session_participants p where p.session_id = s.id)`,
      [ctx.tenantId, watermark.toISOString()],
    );
    targets = Object.fromEntries(rows.map((r) => [r.legacy_id, r.id]));
    await ctx.commit({ cursor: { stage: 'participants', targets, position: null }, read: 0, written: 0 });
  }
  if (Object.keys(targets).length === 0) return true;
  const source = await ctx.services.legacy();
  const where = [
    { column: 'entityType', in: [PARTICIPANT_ENTITY_TYPE] },
    { column: 'action', in: PARTICIPANT_ACTIONS },
  ];
  for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where, after: position, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    const events = batch.rows.flatMap((row) => {
      const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
      return parsed.kind === 'event' && targets[parsed.event.sessionLegacyId] ? [parsed.event] : [];
    });
    const aggregates = groupParticipantEvents(events)
      .filter((a) => !isLeftWithoutJoin(a))
      .map((aggregate) => ({ sessionId: targets[aggregate.sessionLegacyId]!, aggregate }));
    position = batch.position;
    await ctx.commit({
      cursor: { stage: 'participants', targets, position },
      read: 0,
      written: aggregates.length,
      write: (tx) => upsertParticipants(tx, ctx.tenantId, aggregates),
    });
    if (ctx.signal.aborted) return false;
  }
  return true;
}
