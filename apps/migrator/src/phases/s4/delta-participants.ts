import { aggregateOf, mergeParticipant, parseParticipantEvent, type LegacyAuditLog } from '@vc/domain/legacy';
import type { Cursor, RejectInput, StepContext } from '../../engine/types';
import type { LegacyBatch } from '../../legacy/types';
import { leftWithoutJoinRejects, PARTICIPANT_HISTORY } from '../s1/participant-history';
import { applyRefold, clearRefold, dropStaged, refoldDifference, stagedLeaveOnly, stageRefold, type StagedParticipant } from './participant-refold';
import { faultRejects, recordsOf } from '../../legacy/record-faults';

const ORPHAN_DETAIL = 'entityId names no session loaded for this tenant';
/** Sessions whose participants come from legacy: migrated and historical (S1's, or loaded as such by a delta sync). */
const FOLDED_STATUSES = new Set(['ended', 'cancelled']);

/** One AuditLog batch folded: one entry per (session, actor), its rejects, the events left for later. */
interface FoldedBatch {
  participants: StagedParticipant[];
  rejects: RejectInput[];
  deferred: number;
}

const key = (sessionId: string, actorRef: string) => `${sessionId}\u0000${actorRef}`;

/** Legacy id → (id, status) of the tenant's migrated sessions a batch names. */
async function sessionsNamed(ctx: StepContext, legacyIds: readonly string[]): Promise<Map<string, { id: string; status: string }>> {
  if (legacyIds.length === 0) return new Map();
  const rows = await ctx.query<{ legacy_id: string; id: string; status: string }>(
    'select legacy_id, id, status::text as status from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])',
    [ctx.tenantId, legacyIds],
  );
  return new Map(rows.map((r) => [r.legacy_id, { id: r.id, status: r.status }]));
}

async function foldBatch(ctx: StepContext, batch: LegacyBatch): Promise<FoldedBatch> {
  const out: FoldedBatch = { participants: [], rejects: faultRejects(batch.faults), deferred: 0 };
  const events = batch.rows.flatMap((row, i) => {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    const source = batch.locations?.[i];
    if (parsed.kind === 'reject')
      out.rejects.push({ legacyKey: (row.id ?? '').trim() || `#${batch.ordinals[i]}`, reason: parsed.reason, detail: parsed.detail, raw: { ...row }, source });
    return parsed.kind === 'event' ? [{ ...parsed, row, source }] : [];
  });
  const sessions = await sessionsNamed(ctx, [...new Set(events.map((e) => e.event.sessionLegacyId))]);
  const folded = new Map<string, StagedParticipant>();
  for (const { event, warnings, row, source } of events) {
    const session = sessions.get(event.sessionLegacyId);
    if (!session) {
      out.rejects.push({ legacyKey: event.auditId, reason: 'orphan_event', detail: ORPHAN_DETAIL, raw: { ...row }, source });
      continue;
    }
    // Still upcoming at the as-of (or run by the new service since): its participants are not legacy's to give.
    if (!FOLDED_STATUSES.has(session.status)) {
      out.deferred += 1;
      continue;
    }
    const k = key(session.id, event.actorRef);
    const seen = folded.get(k);
    // One entry per event and code, as the step's warnings count them (per source row).
    const codes = [...new Set(warnings)];
    if (seen) {
      seen.aggregate = mergeParticipant(seen.aggregate, aggregateOf(event));
      seen.warnings.push(...codes);
    } else folded.set(k, { sessionId: session.id, aggregate: aggregateOf(event), warnings: codes });
  }
  out.participants = [...folded.values()];
  return out;
}

/** Where an interrupted refold stopped: within the AuditLog pass (`position`), or settling leave-only participants. */
export type RefoldCursor = { stage: 'participants'; position: string | null } | { stage: 'participants'; settle: true };

/**
 * The participants of the tenant's migrated historical sessions (ended or cancelled), folded again from
 * ALL of the tenant's AuditLog participant history by the S1 rules, then written as a difference: a
 * participant whose fold changed (a later join, a later leave) is replaced, a new one (a caregiver who
 * joined later) is added, a backfilled one legacy no longer supports is removed. The fold is a function of
 * legacy's events, never added onto what is stored, so a re-run, a resumed run or `--restart-step` cannot
 * count a join twice: the target ends with what S1 would fold from the same legacy data.
 *
 * The fold is staged batch by batch in `vc_migration.participant_refolds` (memory holds one batch; each
 * batch commits its rejects — `missing_actor`, `invalid_datetime`, `orphan_event` — and its cursor, so an
 * interrupted run resumes after it); participants who only ever left are then settled (`left_without_join`)
 * a batch at a time, and the difference is written in one transaction. Rejects an earlier step recorded are
 * left out by the caller's context. Events of sessions still upcoming (or run by the new service since) are
 * counted `deferred`. `written` and warnings count only participants this run changes. Returns false when
 * interrupted. A dry run takes this same path: its staging is rolled back with the rest of its transaction.
 */
export async function foldDeltaParticipants(ctx: StepContext, resumed: Cursor | null): Promise<boolean> {
  const source = await ctx.services.legacy();
  const at = resumed?.stage === 'participants' ? (resumed as RefoldCursor) : undefined;
  if (!at || !('settle' in at)) {
    let after = at && 'position' in at ? at.position : null;
    if (!at) {
      await ctx.commit({
        cursor: { stage: 'participants', position: null } satisfies RefoldCursor,
        // Where the refold's read of AuditLog got to (as S1 1.4 records it): validate leaves later events to the next sync.
        facts: { eventsThrough: null, eventsSource: source.kind },
        read: 0,
        written: 0,
        write: (tx) => clearRefold(tx, ctx.tenantId, ctx.stepId),
      });
      after = null;
    }
    let done = 0;
    for await (const batch of source.read('AuditLog', {
      tenantId: ctx.tenantId,
      where: PARTICIPANT_HISTORY,
      after,
      batchSize: ctx.options.batchSize,
      signal: ctx.signal,
    })) {
      const folded = await foldBatch(ctx, batch);
      await ctx.commit({
        cursor: { stage: 'participants', position: batch.position } satisfies RefoldCursor,
        facts: { eventsThrough: batch.position },
        read: recordsOf(batch),
        written: 0,
        deferred: folded.deferred,
        rejects: folded.rejects,
        write: (tx) => stageRefold(tx, ctx.tenantId, ctx.stepId, folded.participants),
      });
      ctx.progress((done += recordsOf(batch)));
      if (ctx.signal.aborted) return false;
    }
  }
  // Only once every event is folded is a participant known never to have joined.
  for (;;) {
    const ghosts = await stagedLeaveOnly(ctx, ctx.options.batchSize);
    if (ghosts.length === 0) break;
    const rejects = await leftWithoutJoinRejects(
      source,
      ctx.tenantId,
      ctx.options.batchSize,
      ghosts.map((g) => ({ legacyId: g.legacy_id, actorRef: g.participant_ref })),
    );
    await ctx.commit({
      cursor: { stage: 'participants', settle: true } satisfies RefoldCursor,
      read: 0,
      written: 0,
      rejects,
      write: (tx) => dropStaged(tx, ctx.tenantId, ctx.stepId, ghosts),
    });
    if (ctx.signal.aborted) return false;
  }
  const difference = await refoldDifference(ctx);
  await ctx.commit({
    cursor: { stage: 'ends' },
    read: 0,
    written: difference.written,
    warnings: difference.warnings,
    write: (tx) => applyRefold(tx, ctx.tenantId, ctx.stepId),
  });
  return true;
}
