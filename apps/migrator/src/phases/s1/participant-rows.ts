import type { ParticipantAggregate } from '@vc/domain/legacy';
import type { Tx } from '../../engine/types';

const COLUMNS = ['session_id', 'tenant_id', 'participant_ref', 'role', 'display_name', 'first_joined_at', 'last_left_at', 'join_count', 'source'] as const;

// The earlier-join test of `mergeParticipant` (@vc/domain/legacy), in SQL: batches fold into the row in any order.
const EARLIER_JOIN =
  'excluded.first_joined_at is not null and (session_participants.first_joined_at is null or excluded.first_joined_at < session_participants.first_joined_at)';
export const MERGE_PARTICIPANT = `(session_id, participant_ref) do update set
  role = case when ${EARLIER_JOIN} then excluded.role else session_participants.role end,
  display_name = case when ${EARLIER_JOIN} then excluded.display_name else session_participants.display_name end,
  first_joined_at = least(session_participants.first_joined_at, excluded.first_joined_at),
  last_left_at = greatest(session_participants.last_left_at, excluded.last_left_at),
  join_count = session_participants.join_count + excluded.join_count`;

/**
 * A batch's `session_participants` values, made when the batch is prepared: all it keeps until its commit, not
 * its events, session lookups and legacy rows.
 */
export function participantRows(tenantId: string, rows: ReadonlyArray<{ sessionId: string; aggregate: ParticipantAggregate }>): unknown[][] {
  return rows.map(({ sessionId, aggregate: a }) => [
    sessionId,
    tenantId,
    a.actorRef,
    a.role,
    a.displayName,
    a.firstJoinedAt,
    a.lastLeftAt,
    a.joinCount,
    'audit_backfill',
  ]);
}

/**
 * Folds a batch's participant rows ({@link participantRows}) into `session_participants`. A participant's events may
 * span batches; the upsert merges them as the domain fold does, and the checkpoint committed with it makes
 * each batch count exactly once.
 */
export async function upsertParticipants(tx: Tx, values: ReadonlyArray<readonly unknown[]>): Promise<void> {
  if (values.length === 0) return;
  await tx.insertMany('session_participants', COLUMNS, values, { onConflict: MERGE_PARTICIPANT, conflictsLikely: true });
}
