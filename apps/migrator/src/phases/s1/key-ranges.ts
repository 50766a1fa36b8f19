import type { Batch, Checkpoint, KeyRange, StepContext } from '../../engine/types';
import { rangeCheckpoints } from '../../engine/state';
import { MERGE_PARTICIPANT } from './participant-rows';

/**
 * A split tenant's whole-tenant run (a distributed plan's last item of the tenant, after its key ranges):
 * steps 1.1 and 1.4 take over what their ranges did, so status, gates, validate and later phases see one
 * checkpoint per step, as after a single run.
 */

interface RangeTotals {
  read: number;
  written: number;
  rejected: number;
  deferred: number;
  warnings: Record<string, number>;
  /** The cursor of the last range that read anything: where a single run's cursor would end. */
  cursor: Record<string, unknown> | null;
}

/** The totals of a step's key ranges. Every range must be done: the worker runs this item only after them. */
async function rangeTotals(ctx: StepContext, stepId: string, ranges: readonly KeyRange[]): Promise<RangeTotals> {
  const saved = await rangeCheckpoints(
    ctx.db.db,
    { tenantId: ctx.tenantId, phase: ctx.phase, stepId },
    ranges.map((r) => r.key),
  );
  const totals: RangeTotals = { read: 0, written: 0, rejected: 0, deferred: 0, warnings: {}, cursor: null };
  for (const range of ranges) {
    const cp = saved.get(range.key);
    if (cp?.status !== 'done') throw new Error(`key range ${range.key} of step ${stepId} is ${cp?.status ?? 'not started'}; its work item must be done first`);
    totals.read += cp.read;
    totals.written += cp.written;
    totals.rejected += cp.rejected;
    totals.deferred += cp.deferred;
    for (const [code, n] of Object.entries(cp.warnings)) totals.warnings[code] = (totals.warnings[code] ?? 0) + n;
    if (cp.cursor) totals.cursor = cp.cursor;
  }
  return totals;
}

/**
 * Commits the step's whole-tenant checkpoint as the sum of its key ranges' (counts relative to what the
 * checkpoint already holds, so a repeat after a crash adds nothing), with `also`'s cursor (by default the
 * last range's, as a single run's would end) and writes.
 */
export async function takeOverRanges(
  ctx: StepContext,
  checkpoint: Checkpoint,
  ranges: readonly KeyRange[],
  also: Partial<Pick<Batch, 'cursor' | 'write' | 'facts'>> = {},
): Promise<void> {
  const totals = await rangeTotals(ctx, ctx.stepId, ranges);
  const warnings: Record<string, number> = { ...totals.warnings };
  for (const [code, n] of Object.entries(checkpoint.warnings)) warnings[code] = (warnings[code] ?? 0) - n;
  await ctx.commit({
    ...also,
    cursor: also.cursor ?? totals.cursor ?? {},
    read: totals.read - checkpoint.read,
    written: totals.written - checkpoint.written,
    deferred: totals.deferred - checkpoint.deferred,
    rejectedBefore: totals.rejected - checkpoint.rejected,
    warnings,
  });
}

/**
 * 1.4's `eventsThrough` and `eventsSource` facts as a single run would end with them: those of the last range
 * (key order) that read an event, or none read.
 */
export async function rangeEventsRead(ctx: StepContext, ranges: readonly KeyRange[]): Promise<Record<string, unknown>> {
  const saved = await rangeCheckpoints(
    ctx.db.db,
    { tenantId: ctx.tenantId, phase: ctx.phase, stepId: ctx.stepId },
    ranges.map((r) => r.key),
  );
  const facts: Record<string, unknown> = { eventsThrough: null };
  for (const range of ranges) {
    const cp = saved.get(range.key)?.facts ?? {};
    if (cp.eventsSource !== undefined) facts.eventsSource = cp.eventsSource;
    if (cp.eventsThrough !== undefined && cp.eventsThrough !== null) facts.eventsThrough = cp.eventsThrough;
  }
  return facts;
}

/**
 * 1.4 of a split tenant: each key range folded its audit rows into `vc_migration.participant_refolds`
 * under its range key; here they merge into `session_participants`, a batch of sessions per commit. The
 * ranges' partial rows of one (session, actor) combine as the serial fold would have: counts summed, the
 * earliest join, the latest leave and the latest join, the name of the earliest join and the role of the earliest
 * join naming a known role (docs/design.md §5), on a tie of the earlier range (key order), which is the serial fold's
 * earlier batch. Returns false when interrupted.
 */
export async function mergeRangeParticipants(ctx: StepContext, ranges: readonly KeyRange[], checkpoint: Checkpoint): Promise<boolean> {
  const keys = ranges.map((r) => r.key);
  let after = (checkpoint.cursor?.after as string | undefined) ?? '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const [last] = await ctx.query<{ session_id: string | null }>(
      `select max(session_id::text)::uuid as session_id from (select distinct session_id from vc_migration.participant_refolds
        where tenant_id = $1 and step_id = any($2::text[]) and session_id > $3 order by session_id limit $4) b`,
      [ctx.tenantId, keys, after, ctx.options.batchSize],
    );
    const upTo = last?.session_id;
    if (!upTo) return true;
    await ctx.commit({
      cursor: { stage: 'merge', after: upTo },
      read: 0,
      written: 0,
      write: async (tx) =>
        void (await tx.query(
          `insert into session_participants
             (session_id, tenant_id, participant_ref, role, role_joined_at, display_name, first_joined_at, last_left_at, last_joined_at, join_count, source)
           select distinct on (r.session_id, r.participant_ref) r.session_id, r.tenant_id, r.participant_ref, first_value(r.role) over by_role,
                  min(r.role_joined_at) over w, r.display_name,
                  min(r.first_joined_at) over w, max(r.last_left_at) over w, max(r.last_joined_at) over w, (sum(r.join_count) over w)::int, 'audit_backfill'
             from vc_migration.participant_refolds r
            where r.tenant_id = $1 and r.step_id = any($2::text[]) and r.session_id > $3 and r.session_id <= $4
           window w as (partition by r.session_id, r.participant_ref),
             by_role as (partition by r.session_id, r.participant_ref order by r.role_joined_at is null, r.role_joined_at, r.step_id)
            order by r.session_id, r.participant_ref, r.first_joined_at is null, r.first_joined_at, r.step_id
           on conflict ${MERGE_PARTICIPANT}`,
          [ctx.tenantId, keys, after, upTo],
        )),
    });
    after = upTo;
    if (ctx.signal.aborted) return false;
  }
}

/** The ranges' staged rows, once merged. */
export async function dropRangeParticipants(tx: { query: StepContext['query'] }, tenantId: string, ranges: readonly KeyRange[]): Promise<void> {
  await tx.query(`delete from vc_migration.participant_refolds where tenant_id = $1 and step_id = any($2::text[])`, [tenantId, ranges.map((r) => r.key)]);
}
