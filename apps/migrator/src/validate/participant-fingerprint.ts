import { groupParticipantEvents, isLeftWithoutJoin, parseParticipantEvent, type LegacyAuditLog, type ParticipantAggregate } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { leafOf } from '../evidence/fingerprint';
import type { LegacySource } from '../legacy/types';
import { mergeAggregates, PARTICIPANT_HISTORY } from '../phases/s1/participant-history';
import { sortFaults } from './unread-records';

/**
 * Participants are keyed by their session's legacy id, not by participant: a participant's only natural
 * key is its actor reference, which is PHI and must not leave the process (a difference is reported as
 * `VirtualSession:<legacy id>`). A session's leaf hashes all its participants, sorted by actor.
 */
interface ParticipantProjection {
  participantRef: string;
  role: string;
  displayName: string | null;
  firstJoinedAt: string | null;
  lastLeftAt: string | null;
  joinCount: number;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

function leavesBySession(rows: ReadonlyArray<{ sessionLegacyId: string } & ParticipantProjection>): Map<string, bigint> {
  const bySession = new Map<string, ParticipantProjection[]>();
  for (const { sessionLegacyId, ...participant } of rows) {
    const list = bySession.get(sessionLegacyId) ?? [];
    list.push(participant);
    bySession.set(sessionLegacyId, list);
  }
  const leaves = new Map<string, bigint>();
  for (const [id, list] of bySession) {
    list.sort((a, b) => (a.participantRef < b.participantRef ? -1 : a.participantRef > b.participantRef ? 1 : 0));
    leaves.set(id, leafOf(list));
  }
  return leaves;
}

/**
 * Legacy side: the tenant's `participant.joined/left` history folded as S1 step 1.4 folds it
 * (docs/design.md §5), for the sessions S1 loaded (`loaded`: their legacy ids, after mapping at the
 * watermark); orphan events, events without an actor and actors who never joined are S1's rejects and
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
  const rows = [...all.values()]
    .filter((a) => !isLeftWithoutJoin(a))
    .map((a) => ({
      sessionLegacyId: a.sessionLegacyId,
      participantRef: a.actorRef,
      role: a.role,
      displayName: a.displayName,
      firstJoinedAt: iso(a.firstJoinedAt),
      lastLeftAt: iso(a.lastLeftAt),
      joinCount: a.joinCount,
    }));
  return { leaves: leavesBySession(rows), unread };
}

/**
 * Target side: the participants S1 backfilled (`source = audit_backfill`) of migrated sessions; those
 * of `deferred` sessions (S4's delta sync loads them) are left out, as on the legacy side.
 */
export async function targetParticipantLeaves(db: Database, tenantId: string, deferred: ReadonlySet<string>): Promise<Map<string, bigint>> {
  const rows = await queryRows<{
    legacy_id: string;
    participant_ref: string;
    role: string;
    display_name: string | null;
    first_joined_at: Date | null;
    last_left_at: Date | null;
    join_count: number;
  }>(
    db,
    sql`select s.legacy_id, p.participant_ref, p.role, p.display_name, p.first_joined_at, p.last_left_at, p.join_count
        from session_participants p join virtual_sessions s on s.id = p.session_id
        where p.tenant_id = ${tenantId} and p.source = 'audit_backfill' and s.legacy_id is not null`,
  );
  return leavesBySession(
    rows
      .filter((r) => !deferred.has(r.legacy_id))
      .map((r) => ({
        sessionLegacyId: r.legacy_id,
        participantRef: r.participant_ref,
        role: r.role,
        displayName: r.display_name,
        firstJoinedAt: iso(r.first_joined_at),
        lastLeftAt: iso(r.last_left_at),
        joinCount: Number(r.join_count),
      })),
  );
}
