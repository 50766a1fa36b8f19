import { aggregateOf, isLeftWithoutJoin, mergeParticipant, parseParticipantEvent, type LegacyAuditLog, type ParticipantAggregate } from '@vc/domain/legacy';
import type { Cursor, RejectInput, StepContext } from '../../engine/types';
import type { LegacyBatch } from '../../legacy/types';
import { leftWithoutJoinRejects, PARTICIPANT_HISTORY } from '../s1/participant-history';
import { applyRefold, clearRefold, dropStaged, refoldDifference, stagedLeaveOnly, stageRefold, type StagedParticipant } from './participant-refold';

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
  const out: FoldedBatch = { participants: [], rejects: [], deferred: 0 };
  const events = batch.rows.flatMap((row, i) => {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    const source = batch.locations?.[i];
    if (parsed.kind === 'reject') out.rejects.push({ legacyKey: (row.id ?? '').trim() || `#${batch.ordinals[i]}`, reason: parsed.reason, detail: parsed.detail, raw: { ...row }, source });
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
 * interrupted. A dry run keeps the fold in memory instead (it writes nothing, staging included).
 */
export async function foldDeltaParticipants(ctx: StepContext, resumed: Cursor | null): Promise<boolean> {
  if (ctx.options.dryRun) return foldInMemory(ctx);
  const source = await ctx.services.legacy();
  const at = resumed?.stage === 'participants' ? (resumed as RefoldCursor) : undefined;
  if (!at || !('settle' in at)) {
    let after = at && 'position' in at ? at.position : null;
    if (!at) {
      await ctx.commit({ cursor: { stage: 'participants', position: null } satisfies RefoldCursor, read: 0, written: 0, write: (tx) => clearRefold(tx, ctx.tenantId, ctx.stepId) });
      after = null;
    }
    let done = 0;
    for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where: PARTICIPANT_HISTORY, after, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
      const folded = await foldBatch(ctx, batch);
      await ctx.commit({
        cursor: { stage: 'participants', position: batch.position } satisfies RefoldCursor,
        read: batch.rows.length,
        written: 0,
        deferred: folded.deferred,
        rejects: folded.rejects,
        write: (tx) => stageRefold(tx, ctx.tenantId, ctx.stepId, folded.participants),
      });
      ctx.progress((done += batch.rows.length));
      if (ctx.signal.aborted) return false;
    }
  }
  // Only once every event is folded is a participant known never to have joined.
  for (;;) {
    const ghosts = await stagedLeaveOnly(ctx, ctx.options.batchSize);
    if (ghosts.length === 0) break;
    const rejects = await leftWithoutJoinRejects(source, ctx.tenantId, ctx.options.batchSize, ghosts.map((g) => ({ legacyId: g.legacy_id, actorRef: g.participant_ref })));
    await ctx.commit({ cursor: { stage: 'participants', settle: true } satisfies RefoldCursor, read: 0, written: 0, rejects, write: (tx) => dropStaged(tx, ctx.tenantId, ctx.stepId, ghosts) });
    if (ctx.signal.aborted) return false;
  }
  const difference = await refoldDifference(ctx);
  await ctx.commit({ cursor: { stage: 'ends' }, read: 0, written: difference.written, warnings: difference.warnings, write: (tx) => applyRefold(tx, ctx.tenantId, ctx.stepId) });
  return true;
}

interface Stored {
  session_id: string;
  participant_ref: string;
  role: string;
  display_name: string | null;
  first_joined_at: Date | string | null;
  last_left_at: Date | string | null;
  join_count: number;
  source: string;
}

const ms = (v: Date | string | null) => (v === null ? null : new Date(v).getTime());

function differs(stored: Stored, a: ParticipantAggregate): boolean {
  return (
    stored.role !== a.role ||
    stored.display_name !== a.displayName ||
    ms(stored.first_joined_at) !== ms(a.firstJoinedAt) ||
    ms(stored.last_left_at) !== ms(a.lastLeftAt) ||
    stored.join_count !== a.joinCount
  );
}

/**
 * The dry run's refold: the same fold, kept in memory (one entry per participant of the tenant, as S1
 * 1.4's dry run does) and compared with what is stored, so it reports what a real run would change.
 */
async function foldInMemory(ctx: StepContext): Promise<boolean> {
  const source = await ctx.services.legacy();
  const all = new Map<string, StagedParticipant>();
  const rejects: RejectInput[] = [];
  let read = 0;
  let deferred = 0;
  for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where: PARTICIPANT_HISTORY, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    const folded = await foldBatch(ctx, batch);
    read += batch.rows.length;
    deferred += folded.deferred;
    rejects.push(...folded.rejects);
    for (const p of folded.participants) {
      const k = key(p.sessionId, p.aggregate.actorRef);
      const seen = all.get(k);
      if (seen) {
        seen.aggregate = mergeParticipant(seen.aggregate, p.aggregate);
        seen.warnings.push(...p.warnings);
      } else all.set(k, p);
    }
    ctx.progress(read);
    if (ctx.signal.aborted) return false;
  }
  const folded = [...all.values()];
  const ghosts = folded.filter((f) => isLeftWithoutJoin(f.aggregate));
  rejects.push(...(await leftWithoutJoinRejects(source, ctx.tenantId, ctx.options.batchSize, ghosts.map((g) => ({ legacyId: g.aggregate.sessionLegacyId, actorRef: g.aggregate.actorRef })))));
  const rows = await ctx.query<Stored>(
    `select p.session_id, p.participant_ref, p.role::text as role, p.display_name, p.first_joined_at, p.last_left_at, p.join_count, p.source::text as source
       from session_participants p join virtual_sessions s on s.id = p.session_id
      where p.tenant_id = $1 and s.legacy_id is not null and s.status in ('ended', 'cancelled')`,
    [ctx.tenantId],
  );
  const stored = new Map(rows.map((r) => [key(r.session_id, r.participant_ref), r]));
  const kept = new Set<string>();
  const upserts = folded.filter((f) => {
    if (isLeftWithoutJoin(f.aggregate)) return false;
    const k = key(f.sessionId, f.aggregate.actorRef);
    kept.add(k);
    const row = stored.get(k);
    return !row || (row.source === 'audit_backfill' && differs(row, f.aggregate));
  });
  const removed = [...stored.entries()].filter(([k, row]) => row.source === 'audit_backfill' && !kept.has(k)).length;
  await ctx.commit({
    cursor: { stage: 'ends' },
    read,
    written: upserts.length + removed,
    deferred,
    rejects,
    warnings: upserts.flatMap((u) => u.warnings).reduce<Record<string, number>>((n, code) => ((n[code] = (n[code] ?? 0) + 1), n), {}),
  });
  return true;
}
