import type { ParticipantAggregate } from '@vc/domain/legacy';
import { copyValue, encodeLines, type CopyRows } from '../../engine/copy-text';
import type { Tx } from '../../engine/types';

const COLUMNS = [
  'session_id',
  'tenant_id',
  'participant_ref',
  'role',
  'display_name',
  'first_joined_at',
  'last_left_at',
  'last_joined_at',
  'join_count',
  'role_joined_at',
  'source',
] as const;

// The earlier-join tests of `mergeParticipant` (@vc/domain/legacy), in SQL: batches fold into the row in any order.
const EARLIER_JOIN =
  'excluded.first_joined_at is not null and (session_participants.first_joined_at is null or excluded.first_joined_at < session_participants.first_joined_at)';
/** `payloadRoleLeads`: the earliest join naming a known role gives the role; without one both sides hold the actor's guess. */
export const EARLIER_ROLE = (table: string): string =>
  `excluded.role_joined_at is not null and (${table}.role_joined_at is null or excluded.role_joined_at < ${table}.role_joined_at)`;
export const MERGE_PARTICIPANT = `(session_id, participant_ref) do update set
  role = case when ${EARLIER_ROLE('session_participants')} then excluded.role else session_participants.role end,
  role_joined_at = least(session_participants.role_joined_at, excluded.role_joined_at),
  display_name = case when ${EARLIER_JOIN} then excluded.display_name else session_participants.display_name end,
  first_joined_at = least(session_participants.first_joined_at, excluded.first_joined_at),
  last_left_at = greatest(session_participants.last_left_at, excluded.last_left_at),
  last_joined_at = greatest(session_participants.last_joined_at, excluded.last_joined_at),
  join_count = session_participants.join_count + excluded.join_count`;

/**
 * A batch's `session_participants` rows as COPY lines, made when the batch is prepared: all it keeps until its
 * commit (one flat string a row), not its events, session lookups and legacy rows.
 */
export function participantRows(tenantId: string, rows: ReadonlyArray<{ sessionId: string; aggregate: ParticipantAggregate }>): CopyRows {
  const tenant = copyValue(tenantId);
  const time = (at: Date | null) => (at === null ? '\\N' : at.toISOString());
  const fields = new Array<string>(COLUMNS.length);
  // Only the legacy texts (actor, display name) and the tenant id can need escaping: uuids, roles, ISO times and
  // counts never do.
  return encodeLines(
    rows.map(({ sessionId, aggregate: a }) => {
      fields[0] = sessionId;
      fields[1] = tenant;
      fields[2] = copyValue(a.actorRef);
      fields[3] = a.role;
      fields[4] = copyValue(a.displayName);
      fields[5] = time(a.firstJoinedAt);
      fields[6] = time(a.lastLeftAt);
      fields[7] = time(a.lastJoinedAt);
      fields[8] = String(a.joinCount);
      fields[9] = time(a.roleJoinedAt);
      fields[10] = 'audit_backfill';
      return fields.join('\t');
    }),
  );
}

// Dropped at the end of each write (and at commit in any case): one batch's rows at a time.
const STAGE = 'vc_participants_stage';
const COLUMN_LIST = COLUMNS.join(', ');

/**
 * Folds a batch's participant rows ({@link participantRows}) into `session_participants`. A participant's events may
 * span batches; the upsert merges them as the domain fold does, and the checkpoint committed with it makes
 * each batch count exactly once. The rows reach PostgreSQL by COPY into a temporary table (no index, no foreign
 * key, not WAL-logged), then one `insert … select … on conflict`: cheaper on both sides than binding ten typed
 * arrays (`unnest`), and COPY cannot take the `on conflict` itself.
 */
export async function upsertParticipants(tx: Tx, rows: CopyRows): Promise<void> {
  if (rows.lines.length === 0) return;
  await tx.query(`create temporary table ${STAGE} on commit drop as select ${COLUMN_LIST} from session_participants with no data`);
  await tx.insertMany(STAGE, COLUMNS, rows);
  await tx.query(`insert into session_participants (${COLUMN_LIST}) select ${COLUMN_LIST} from ${STAGE} on conflict ${MERGE_PARTICIPANT}`);
  await tx.query(`drop table ${STAGE}`);
}
