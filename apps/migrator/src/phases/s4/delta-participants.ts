import { aggregateOf, isLeftWithoutJoin, mergeParticipant, parseParticipantEvent, tallyCodes, type LegacyAuditLog, type ParticipantAggregate, type WarningCode } from '@vc/domain/legacy';
import type { RejectInput, StepContext, Tx } from '../../engine/types';
import type { LegacyBatch } from '../../legacy/types';
import { leftWithoutJoinRejects, PARTICIPANT_HISTORY } from '../s1/participant-history';

const ORPHAN_DETAIL = 'entityId names no session loaded for this tenant';
/** Sessions whose participants come from legacy: migrated and historical (S1's, or loaded as such by a delta sync). */
const FOLDED_STATUSES = new Set(['ended', 'cancelled']);
const COLUMNS = ['session_id', 'tenant_id', 'participant_ref', 'role', 'display_name', 'first_joined_at', 'last_left_at', 'join_count', 'source'] as const;
// Replaces a backfilled row with the refold; a row the new service recorded itself (`live`) is never touched.
const REPLACE = `(session_id, participant_ref) do update set role = excluded.role, display_name = excluded.display_name,
  first_joined_at = excluded.first_joined_at, last_left_at = excluded.last_left_at, join_count = excluded.join_count
  where session_participants.source = 'audit_backfill'`;

interface Folded {
  sessionId: string;
  aggregate: ParticipantAggregate;
  /** Warnings of the events folded into it, one entry per event (counted only when the row is written). */
  warnings: WarningCode[][];
}

interface Fold {
  participants: Map<string, Folded>;
  rejects: RejectInput[];
  read: number;
  deferred: number;
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

const key = (sessionId: string, actorRef: string) => `${sessionId}\u0000${actorRef}`;
const ms = (v: Date | string | null) => (v === null ? null : new Date(v).getTime());

/** Legacy id → (id, status) of the tenant's migrated sessions a batch names. */
async function sessionsNamed(ctx: StepContext, legacyIds: readonly string[]): Promise<Map<string, { id: string; status: string }>> {
  if (legacyIds.length === 0) return new Map();
  const rows = await ctx.query<{ legacy_id: string; id: string; status: string }>(
    'select legacy_id, id, status::text as status from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])',
    [ctx.tenantId, legacyIds],
  );
  return new Map(rows.map((r) => [r.legacy_id, { id: r.id, status: r.status }]));
}

async function foldBatch(ctx: StepContext, batch: LegacyBatch, fold: Fold): Promise<void> {
  fold.read += batch.rows.length;
  const events = batch.rows.flatMap((row, i) => {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'reject') fold.rejects.push({ legacyKey: (row.id ?? '').trim() || `#${batch.ordinals[i]}`, reason: parsed.reason, detail: parsed.detail, raw: { ...row } });
    return parsed.kind === 'event' ? [{ ...parsed, row }] : [];
  });
  const sessions = await sessionsNamed(ctx, [...new Set(events.map((e) => e.event.sessionLegacyId))]);
  for (const { event, warnings, row } of events) {
    const session = sessions.get(event.sessionLegacyId);
    if (!session) {
      fold.rejects.push({ legacyKey: event.auditId, reason: 'orphan_event', detail: ORPHAN_DETAIL, raw: { ...row } });
      continue;
    }
    // Still upcoming at the as-of (or run by the new service since): its participants are not legacy's to give.
    if (!FOLDED_STATUSES.has(session.status)) {
      fold.deferred += 1;
      continue;
    }
    const k = key(session.id, event.actorRef);
    const seen = fold.participants.get(k);
    const one = aggregateOf(event);
    if (seen) {
      seen.aggregate = mergeParticipant(seen.aggregate, one);
      seen.warnings.push(warnings);
    } else fold.participants.set(k, { sessionId: session.id, aggregate: one, warnings: [warnings] });
  }
}

function differs(stored: Stored, a: ParticipantAggregate): boolean {
  return (
    stored.role !== a.role ||
    stored.display_name !== a.displayName ||
    ms(stored.first_joined_at) !== ms(a.firstJoinedAt) ||
    ms(stored.last_left_at) !== ms(a.lastLeftAt) ||
    stored.join_count !== a.joinCount
  );
}

/** The backfilled participants of the tenant's historical migrated sessions, as stored now. */
async function storedParticipants(ctx: StepContext): Promise<Map<string, Stored>> {
  const rows = await ctx.query<Stored>(
    `select p.session_id, p.participant_ref, p.role::text as role, p.display_name, p.first_joined_at, p.last_left_at, p.join_count, p.source::text as source
       from session_participants p join virtual_sessions s on s.id = p.session_id
      where p.tenant_id = $1 and s.legacy_id is not null and s.status in ('ended', 'cancelled')`,
    [ctx.tenantId],
  );
  return new Map(rows.map((r) => [key(r.session_id, r.participant_ref), r]));
}

async function apply(tx: Tx, tenantId: string, upserts: readonly Folded[], deletes: readonly Stored[]): Promise<void> {
  if (upserts.length > 0) {
    const rows = upserts.map(({ sessionId, aggregate: a }) => [sessionId, tenantId, a.actorRef, a.role, a.displayName, a.firstJoinedAt, a.lastLeftAt, a.joinCount, 'audit_backfill']);
    await tx.insertMany('session_participants', COLUMNS, rows, { onConflict: REPLACE, conflictsLikely: true });
  }
  if (deletes.length > 0) {
    await tx.query(
      `delete from session_participants p using unnest($1::uuid[], $2::text[]) as d(session_id, participant_ref)
        where p.session_id = d.session_id and p.participant_ref = d.participant_ref and p.source = 'audit_backfill'`,
      [deletes.map((d) => d.session_id), deletes.map((d) => d.participant_ref)],
    );
  }
}

/**
 * The participants of the tenant's migrated historical sessions (ended or cancelled), folded again from
 * ALL of the tenant's AuditLog participant history by the S1 rules, then written as a difference: a
 * participant whose fold changed (a later join, a later leave) is replaced, a new one (a caregiver who
 * joined later) is added, a backfilled one legacy no longer supports is removed. The fold is a function of
 * legacy's events, never added onto what is stored, so a re-run, a resumed run or `--restart-step` cannot
 * count a join twice: the target ends with what S1 would fold from the same legacy data.
 *
 * The fold is kept in memory (one entry per participant of the tenant) and committed once, with its
 * rejects (`missing_actor`, `invalid_datetime`, `orphan_event`, `left_without_join`; those an earlier
 * step recorded are left out by the caller's context); an interrupted run folds again from the start.
 * Events of sessions still upcoming (or run by the new service since) are counted `deferred`.
 * `written` and warnings count only participants this run changes. Returns false when interrupted.
 */
export async function foldDeltaParticipants(ctx: StepContext): Promise<boolean> {
  const source = await ctx.services.legacy();
  const fold: Fold = { participants: new Map(), rejects: [], read: 0, deferred: 0 };
  for await (const batch of source.read('AuditLog', { tenantId: ctx.tenantId, where: PARTICIPANT_HISTORY, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    await foldBatch(ctx, batch, fold);
    ctx.progress(fold.read);
    if (ctx.signal.aborted) return false;
  }
  const folded = [...fold.participants.values()];
  const ghosts = folded.filter((f) => isLeftWithoutJoin(f.aggregate));
  const ghostRejects = await leftWithoutJoinRejects(source, ctx.tenantId, ctx.options.batchSize, ghosts.map((g) => ({ legacyId: g.aggregate.sessionLegacyId, actorRef: g.aggregate.actorRef })));
  const stored = await storedParticipants(ctx);
  const kept = new Set<string>();
  const upserts = folded.filter((f) => {
    if (isLeftWithoutJoin(f.aggregate)) return false;
    const k = key(f.sessionId, f.aggregate.actorRef);
    kept.add(k);
    const row = stored.get(k);
    return !row || (row.source === 'audit_backfill' && differs(row, f.aggregate));
  });
  const deletes = [...stored.entries()].filter(([k, row]) => row.source === 'audit_backfill' && !kept.has(k)).map(([, row]) => row);
  await ctx.commit({
    cursor: { stage: 'ends' },
    read: fold.read,
    written: upserts.length + deletes.length,
    deferred: fold.deferred,
    rejects: [...fold.rejects, ...ghostRejects],
    warnings: tallyCodes(upserts.flatMap((u) => u.warnings)) as Record<string, number>,
    write: (tx) => apply(tx, ctx.tenantId, upserts, deletes),
  });
  return true;
}
