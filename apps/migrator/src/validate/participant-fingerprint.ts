import { groupParticipantEvents, isLeftWithoutJoin, parseParticipantEvent, type LegacyAuditLog, type ParticipantAggregate } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { jsonText as text, leafOf } from '../evidence/fingerprint';
import type { LegacySource } from '../legacy/types';
import { mergeAggregates, PARTICIPANT_HISTORY } from '../phases/s1/participant-history';
import { sortFaults } from './unread-records';

/**
 * Participants are keyed by their session's legacy id, not by participant: a participant's only natural
 * key is its actor reference, which is PHI and must not leave the process (a difference is reported as
 * `VirtualSession:<legacy id>`). A session's leaf hashes all its participants, sorted by actor.
 */
export interface ParticipantProjection {
  participantRef: string;
  role: string;
  displayName: string | null;
  firstJoinedAt: string | null;
  lastLeftAt: string | null;
  lastJoinedAt: string | null;
  joinCount: number;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

/** One participant's canonical JSON, its keys in canonical order; the instants as their JSON texts. */
const participantJson = (
  displayName: string | null,
  firstJoinedAt: string,
  joinCount: number,
  lastJoinedAt: string,
  lastLeftAt: string,
  participantRef: string,
  role: string,
) =>
  `{"displayName":${text(displayName)},"firstJoinedAt":${firstJoinedAt},"joinCount":${JSON.stringify(joinCount)},"lastJoinedAt":${lastJoinedAt},"lastLeftAt":${lastLeftAt},"participantRef":${text(participantRef)},"role":${text(role)}}`;

/** `canonicalJson(list)` of a session's participants (sorted by actor), written out with its keys in canonical order. */
export function participantsJson(list: readonly ParticipantProjection[]): string {
  let out = '';
  for (const p of list)
    out += `${out ? ',' : ''}${participantJson(p.displayName, text(p.firstJoinedAt), p.joinCount, text(p.lastJoinedAt), text(p.lastLeftAt), p.participantRef, p.role)}`;
  return `[${out}]`;
}

/** An instant's JSON text as `text(iso(at))` writes it, without the copy of the Date. */
const instantJson = (at: Date | null): string => (at === null ? 'null' : `"${at.toISOString()}"`);

/**
 * The streamed pass's legacy participants, per session: `participantsJson` of what `bySession(foldedParticipants(…))`
 * gives, written from the fold's aggregates themselves (leave-only actors left out, each session's sorted by actor).
 * The two objects per participant those make were a large share of the pass's garbage.
 */
export function participantsJsonBySession(aggregates: Iterable<ParticipantAggregate>): Map<string, string> {
  const grouped = new Map<string, ParticipantAggregate[]>();
  for (const a of aggregates) {
    if (isLeftWithoutJoin(a)) continue;
    const list = grouped.get(a.sessionLegacyId);
    if (list) list.push(a);
    else grouped.set(a.sessionLegacyId, [a]);
  }
  const texts = new Map<string, string>();
  for (const [id, list] of grouped) {
    list.sort((a, b) => (a.actorRef < b.actorRef ? -1 : a.actorRef > b.actorRef ? 1 : 0));
    let out = '';
    for (const a of list)
      out += `${out ? ',' : ''}${participantJson(a.displayName, instantJson(a.firstJoinedAt), a.joinCount, instantJson(a.lastJoinedAt), instantJson(a.lastLeftAt), a.actorRef, a.role)}`;
    texts.set(id, `[${out}]`);
  }
  return texts;
}

/** Participants grouped by their session's legacy id, each session's sorted by actor (the leaf's order). */
export function bySession(rows: ReadonlyArray<{ sessionLegacyId: string } & ParticipantProjection>): Map<string, ParticipantProjection[]> {
  const grouped = new Map<string, ParticipantProjection[]>();
  for (const { sessionLegacyId, ...participant } of rows) {
    const list = grouped.get(sessionLegacyId);
    if (list) list.push(participant);
    else grouped.set(sessionLegacyId, [participant]);
  }
  for (const list of grouped.values()) list.sort((a, b) => (a.participantRef < b.participantRef ? -1 : a.participantRef > b.participantRef ? 1 : 0));
  return grouped;
}

function leavesBySession(rows: ReadonlyArray<{ sessionLegacyId: string } & ParticipantProjection>): Map<string, bigint> {
  const leaves = new Map<string, bigint>();
  for (const [id, list] of bySession(rows)) leaves.set(id, leafOf(list));
  return leaves;
}

/** The participants a fold of legacy events gives (a leave-only actor is S1's reject, not a participant). */
export function foldedParticipants(aggregates: Iterable<ParticipantAggregate>): Array<{ sessionLegacyId: string } & ParticipantProjection> {
  const rows = [];
  for (const a of aggregates) {
    if (isLeftWithoutJoin(a)) continue;
    rows.push({
      sessionLegacyId: a.sessionLegacyId,
      participantRef: a.actorRef,
      role: a.role,
      displayName: a.displayName,
      firstJoinedAt: iso(a.firstJoinedAt),
      lastLeftAt: iso(a.lastLeftAt),
      lastJoinedAt: iso(a.lastJoinedAt),
      joinCount: a.joinCount,
    });
  }
  return rows;
}

/** A backfilled participant as the target side reads it (`TARGET_PARTICIPANT_COLUMNS`, `s.legacy_id` first). */
interface TargetParticipantRow {
  legacy_id: string;
  participant_ref: string;
  role: string;
  display_name: string | null;
  first_joined_at: Date | null;
  last_left_at: Date | null;
  last_joined_at: Date | null;
  join_count: number;
}

const TARGET_PARTICIPANT_COLUMNS = sql.raw(
  's.legacy_id, p.participant_ref, p.role, p.display_name, p.first_joined_at, p.last_left_at, p.last_joined_at, p.join_count',
);

const targetParticipant = (r: TargetParticipantRow): { sessionLegacyId: string } & ParticipantProjection => ({
  sessionLegacyId: r.legacy_id,
  participantRef: r.participant_ref,
  role: r.role,
  displayName: r.display_name,
  firstJoinedAt: iso(r.first_joined_at),
  lastLeftAt: iso(r.last_left_at),
  lastJoinedAt: iso(r.last_joined_at),
  joinCount: Number(r.join_count),
});

/**
 * Legacy side: the tenant's `participant.joined/left` history folded as S1 step 1.4 folds it
 * (docs/design.md §5), for the sessions whose participants the migration gave (`loaded`: their legacy ids,
 * after mapping as S1, or once it ran S4's delta sync, maps them; S4's refold folds the same events for the
 * sessions it loads as ended or cancelled); orphan events, events without an actor and actors who never joined are S1's rejects and
 * stay out, as they stay out of the target. A malformed CSV record a phase rejected (`rejectedRecords`,
 * its `file:line`) stays out too; one none rejected is returned as `unread`.
 */
export async function legacyParticipantLeaves(
  legacy: LegacySource,
  tenantId: string,
  loaded: ReadonlySet<string>,
  batchSize: number,
  rejectedRecords: ReadonlySet<string> = new Set(),
): Promise<{ leaves: Map<string, bigint>; unread: string[] }> {
  const all = new Map<string, ParticipantAggregate>();
  // A malformed record (CSV) no phase rejected may have been any session's event: named by its file:line.
  const unread: string[] = [];
  for await (const batch of legacy.read('AuditLog', { tenantId, where: PARTICIPANT_HISTORY, batchSize })) {
    unread.push(...sortFaults(batch.faults, rejectedRecords).unread);
    const events = [];
    for (const row of batch.rows) {
      const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
      if (parsed.kind === 'event' && loaded.has(parsed.event.sessionLegacyId)) events.push(parsed.event);
    }
    mergeAggregates(all, groupParticipantEvents(events));
  }
  const rows = foldedParticipants(all.values());
  return { leaves: leavesBySession(rows), unread };
}

/**
 * Target side: the participants S1 or S4 backfilled (`source = audit_backfill`) of migrated sessions; those
 * of `excluded` sessions (left to a later sync, or the service's since the cutover) are left out, as on the
 * legacy side.
 */
export async function targetParticipantLeaves(db: Database, tenantId: string, excluded: ReadonlySet<string>): Promise<Map<string, bigint>> {
  const rows = await queryRows<TargetParticipantRow>(
    db,
    sql`select ${TARGET_PARTICIPANT_COLUMNS}
        from session_participants p join virtual_sessions s on s.id = p.session_id
        where p.tenant_id = ${tenantId} and p.source = 'audit_backfill' and s.legacy_id is not null`,
  );
  return leavesBySession(rows.filter((r) => !excluded.has(r.legacy_id)).map(targetParticipant));
}
