import {
  mergeParticipant,
  parseParticipantEvent,
  PARTICIPANT_ACTIONS,
  PARTICIPANT_ENTITY_TYPE,
  type LegacyAuditLog,
  type ParticipantAggregate,
} from '@vc/domain/legacy';
import type { RejectInput, Tx } from '../../engine/types';
import type { LegacyRow, LegacySource, ReadOptions } from '../../legacy/types';

/**
 * The AuditLog participant history S1 1.4 folds and S4's delta sync folds again for sessions it loads:
 * what both read, how a fold is merged across batches (validate folds it too), and how a participant who only ever left is
 * settled (`left_without_join`) once every event is folded. Compared as the domain compares (trimmed, any case), so
 * ' participant.joined' and 'Participant.Joined' reach the parser from MariaDB and from a CSV export alike.
 */
export const PARTICIPANT_HISTORY: NonNullable<ReadOptions['where']> = [
  { column: 'entityType', in: [PARTICIPANT_ENTITY_TYPE] },
  { column: 'action', in: PARTICIPANT_ACTIONS },
];

/**
 * The same history with entityType compared as legacy's collation compares, so a read on the
 * (tenantId, entityType, entityId) index stays a range of it. The rows it leaves out (an entityType that names
 * VirtualSession only once trimmed) are read apart: `apart: { uncollated: ['entityType'] }` with `PARTICIPANT_HISTORY`.
 * action is in no index: it is compared as the domain compares here too.
 */
export const PARTICIPANT_HISTORY_BY_ENTITY: NonNullable<ReadOptions['where']> = [
  { column: 'entityType', in: [PARTICIPANT_ENTITY_TYPE], collated: true },
  { column: 'action', in: PARTICIPANT_ACTIONS },
];

const LEFT_DETAIL = 'this actor left the session but never joined it';

/** Folds a batch's aggregates into `all` (keyed by session and actor), merging one seen in an earlier batch. */
export function mergeAggregates(all: Map<string, ParticipantAggregate>, aggregates: readonly ParticipantAggregate[]): Map<string, ParticipantAggregate> {
  for (const a of aggregates) {
    const key = `${a.sessionLegacyId}\u0000${a.actorRef}`;
    const seen = all.get(key);
    all.set(key, seen ? mergeParticipant(seen, a) : a);
  }
  return all;
}

/** A participant that never joined: its session's legacy id and the actor. */
export interface LeaveOnly {
  legacyId: string;
  actorRef: string;
}

const ENTITY_INDEX = 'idx_AuditLog_tenantId_entity';
const DIGITS = /^[0-9]+$/;

/**
 * The AuditLog events of `ghosts` (re-read from legacy, only their sessions), as `left_without_join` rejects. Two
 * reads, as validate's streamed pass reads a batch's events: the ghosts' sessions' rows as legacy's collation finds
 * them, a range of the (tenantId, entityType, entityId) index; and the rows that range may miss or would share with
 * the second read (an entityId not digits alone, an entityType spelled with whitespace), read apart from the index
 * entries alone. Compared as the domain compares in one read, every filter would leave the index and walk all of the
 * tenant's AuditLog rows once per batch of ghosts.
 */
export async function leftWithoutJoinRejects(source: LegacySource, tenantId: string, batchSize: number, ghosts: readonly LeaveOnly[]): Promise<RejectInput[]> {
  const wanted = new Set(ghosts.map((g) => `${g.legacyId}\u0000${g.actorRef}`));
  const rejects: RejectInput[] = [];
  const take = (row: LegacyRow) => {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'event' && wanted.has(`${parsed.event.sessionLegacyId}\u0000${parsed.event.actorRef}`))
      rejects.push({ legacyKey: parsed.event.auditId, reason: 'left_without_join', detail: LEFT_DETAIL, raw: { ...row } });
  };
  const ids = [...new Set(ghosts.map((g) => g.legacyId))];
  const where = [...PARTICIPANT_HISTORY_BY_ENTITY, { column: 'entityId', in: ids, collated: true }];
  // In one statement: a few events a ghost, and paging by id would sort the range again for every page.
  for await (const batch of source.read('AuditLog', { tenantId, where, index: ENTITY_INDEX, batchSize, unordered: true }))
    for (const row of batch.rows) if (DIGITS.test(row.entityId ?? '')) take(row);
  const apart = { notDigits: 'entityId', uncollated: ['entityType'] };
  for await (const batch of source.read('AuditLog', { tenantId, where: PARTICIPANT_HISTORY, apart, index: ENTITY_INDEX, batchSize }))
    for (const row of batch.rows) take(row);
  return rejects;
}

/** Deletes the settled leave-only rows (still `join_count = 0`: a join folded meanwhile keeps the row). */
export async function deleteLeaveOnly(tx: Tx, rows: ReadonlyArray<{ session_id: string; participant_ref: string }>): Promise<void> {
  await tx.query(
    `delete from session_participants p using unnest($1::uuid[], $2::text[]) as g(session_id, participant_ref)
      where p.session_id = g.session_id and p.participant_ref = g.participant_ref and p.join_count = 0`,
    [rows.map((g) => g.session_id), rows.map((g) => g.participant_ref)],
  );
}
