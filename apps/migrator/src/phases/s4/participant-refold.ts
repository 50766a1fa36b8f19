import type { ParticipantAggregate, WarningCode } from '@vc/domain/legacy';
import type { StepContext, Tx } from '../../engine/types';
import { EARLIER_ROLE } from '../s1/participant-rows';

/**
 * The SQL of S4's staged participant refold (`vc_migration.participant_refolds`): batches merge into it
 * by the S1 fold rules, and the difference against `session_participants` is counted and written from it,
 * so the migrator's memory holds one batch whatever the size of the tenant's history.
 */
const TABLE = 'vc_migration.participant_refolds';
const COLUMNS = [
  'tenant_id',
  'step_id',
  'session_id',
  'participant_ref',
  'role',
  'display_name',
  'first_joined_at',
  'last_left_at',
  'last_joined_at',
  'join_count',
  'role_joined_at',
  'warnings',
] as const;

// `mergeParticipant` (@vc/domain/legacy) in SQL, as S1's upsert does it: batches fold in any order.
const EARLIER_JOIN =
  'excluded.first_joined_at is not null and (participant_refolds.first_joined_at is null or excluded.first_joined_at < participant_refolds.first_joined_at)';
const MERGE = `(tenant_id, step_id, session_id, participant_ref) do update set
  role = case when ${EARLIER_ROLE('participant_refolds')} then excluded.role else participant_refolds.role end,
  role_joined_at = least(participant_refolds.role_joined_at, excluded.role_joined_at),
  display_name = case when ${EARLIER_JOIN} then excluded.display_name else participant_refolds.display_name end,
  first_joined_at = least(participant_refolds.first_joined_at, excluded.first_joined_at),
  last_left_at = greatest(participant_refolds.last_left_at, excluded.last_left_at),
  last_joined_at = greatest(participant_refolds.last_joined_at, excluded.last_joined_at),
  join_count = participant_refolds.join_count + excluded.join_count,
  warnings = participant_refolds.warnings || excluded.warnings`;

/** A batch's fold of one (session, actor), with the warnings of its events (one entry per event and code). */
export interface StagedParticipant {
  sessionId: string;
  aggregate: ParticipantAggregate;
  warnings: WarningCode[];
}

/** Empties the tenant's staged refold of this step (a refold always starts from legacy's events alone). */
export async function clearRefold(tx: Tx, tenantId: string, stepId: string): Promise<void> {
  await tx.query(`delete from ${TABLE} where tenant_id = $1 and step_id = $2`, [tenantId, stepId]);
}

/** Merges a batch's participants (one entry per session and actor) into the staged refold. */
export async function stageRefold(tx: Tx, tenantId: string, stepId: string, participants: readonly StagedParticipant[]): Promise<void> {
  if (participants.length === 0) return;
  const rows = participants.map(({ sessionId, aggregate: a, warnings }) => [
    tenantId,
    stepId,
    sessionId,
    a.actorRef,
    a.role,
    a.displayName,
    a.firstJoinedAt,
    a.lastLeftAt,
    a.lastJoinedAt,
    a.joinCount,
    a.roleJoinedAt,
    warnings,
  ]);
  await tx.insertMany(TABLE, COLUMNS, rows, { onConflict: MERGE, conflictsLikely: true });
}

/** Up to `limit` staged participants that only ever left, with their session's legacy id. */
export function stagedLeaveOnly(ctx: StepContext, limit: number): Promise<Array<{ session_id: string; legacy_id: string; participant_ref: string }>> {
  return ctx.query(
    `select r.session_id, s.legacy_id, r.participant_ref from ${TABLE} r join virtual_sessions s on s.id = r.session_id
      where r.tenant_id = $1 and r.step_id = $2 and r.join_count = 0 order by r.session_id, r.participant_ref limit $3`,
    [ctx.tenantId, ctx.stepId, limit],
  );
}

/** Drops settled leave-only participants from the staged refold. */
export async function dropStaged(
  tx: Tx,
  tenantId: string,
  stepId: string,
  rows: ReadonlyArray<{ session_id: string; participant_ref: string }>,
): Promise<void> {
  await tx.query(
    `delete from ${TABLE} r using unnest($3::uuid[], $4::text[]) as g(session_id, participant_ref)
      where r.tenant_id = $1 and r.step_id = $2 and r.session_id = g.session_id and r.participant_ref = g.participant_ref`,
    [tenantId, stepId, rows.map((g) => g.session_id), rows.map((g) => g.participant_ref)],
  );
}

// Staged participants that change the target: new, or a backfilled row whose fold differs (a `live` row is the service's).
// The latest join is the later of the stored one and the fold's (`LAST_JOINED`), so a rejoin the service recorded
// after the cutover is never moved back, and a row loaded before legacy joins were kept (NULL) counts as changed.
const LAST_JOINED = 'greatest(p.last_joined_at, r.last_joined_at)';
const CHANGED = `select r.*, ${LAST_JOINED} as merged_last_joined_at
  from ${TABLE} r left join session_participants p on p.session_id = r.session_id and p.participant_ref = r.participant_ref
  where r.tenant_id = $1 and r.step_id = $2 and r.join_count > 0
    and (p.session_id is null or (p.source = 'audit_backfill' and (p.role, p.display_name, p.first_joined_at, p.last_left_at, p.last_joined_at, p.join_count)
      is distinct from (r.role, r.display_name, r.first_joined_at, r.last_left_at, ${LAST_JOINED}, r.join_count)))`;
// Backfilled participants of historical migrated sessions that legacy's events no longer support.
const UNSUPPORTED = `from session_participants p join virtual_sessions s on s.id = p.session_id
  where p.tenant_id = $1 and s.legacy_id is not null and s.status in ('ended', 'cancelled') and p.source = 'audit_backfill'
    and not exists (select 1 from ${TABLE} r where r.tenant_id = $1 and r.step_id = $2 and r.session_id = p.session_id and r.participant_ref = p.participant_ref)`;

/** What writing the refold would change: rows replaced or added, rows removed, and the warnings of the changed ones. */
export async function refoldDifference(ctx: StepContext): Promise<{ written: number; warnings: Record<string, number> }> {
  const params = [ctx.tenantId, ctx.stepId];
  const [changed] = await ctx.query<{ n: number }>(`select count(*)::int as n from (${CHANGED}) c`, params);
  const [removed] = await ctx.query<{ n: number }>(`select count(*)::int as n ${UNSUPPORTED}`, params);
  const codes = await ctx.query<{ code: string; n: number }>(
    `select w.code, count(*)::int as n from (${CHANGED}) c cross join jsonb_array_elements_text(c.warnings) as w(code) group by w.code`,
    params,
  );
  return { written: changed!.n + removed!.n, warnings: Object.fromEntries(codes.map((c) => [c.code, c.n])) };
}

/** Writes the refold's difference into `session_participants` and empties the staged refold. */
export async function applyRefold(tx: Tx, tenantId: string, stepId: string): Promise<void> {
  const params = [tenantId, stepId];
  await tx.query(
    `insert into session_participants (session_id, tenant_id, participant_ref, role, role_joined_at, display_name, first_joined_at, last_left_at, last_joined_at, join_count, source)
     select c.session_id, c.tenant_id, c.participant_ref, c.role, c.role_joined_at, c.display_name, c.first_joined_at, c.last_left_at, c.merged_last_joined_at, c.join_count, 'audit_backfill'
       from (${CHANGED}) c
     on conflict (session_id, participant_ref) do update set role = excluded.role, role_joined_at = excluded.role_joined_at, display_name = excluded.display_name,
       first_joined_at = excluded.first_joined_at, last_left_at = excluded.last_left_at,
       last_joined_at = greatest(session_participants.last_joined_at, excluded.last_joined_at), join_count = excluded.join_count
       where session_participants.source = 'audit_backfill'`,
    params,
  );
  await tx.query(
    `delete from session_participants q using (select p.session_id, p.participant_ref ${UNSUPPORTED}) d where q.session_id = d.session_id and q.participant_ref = d.participant_ref`,
    params,
  );
  await clearRefold(tx, tenantId, stepId);
}
