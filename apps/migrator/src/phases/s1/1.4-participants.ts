import {
  aggregateOf,
  foldEventInto,
  parseParticipantEvent,
  participantKey,
  tallyCodes,
  type LegacyAuditLog,
  type ParticipantAggregate,
  type ParticipantEvent,
  type WarningCode,
} from '@vc/domain/legacy';
import { withCommitPipeline } from '../../engine/pipeline';
import type { Batch, Checkpoint, RejectInput, Step, StepContext, Tx } from '../../engine/types';
import type { LegacyBatch, LegacyRow, LegacySource, ParticipantPushdown, ParticipantWindow, ReadOptions } from '../../legacy/types';
import { aggregateOfGroup, foldWindow } from './participant-groups';
import { deleteLeaveOnly, leftWithoutJoinRejects, PARTICIPANT_HISTORY } from './participant-history';
import { participantRows, upsertParticipants } from './participant-rows';
import { dropRangeParticipants, mergeRangeParticipants, rangeEventsRead, takeOverRanges } from './key-ranges';
import { clearRefold, stageRefold } from '../s4/participant-refold';
import { faultRejects, recordsOf } from '../../legacy/record-faults';

const ORPHAN_DETAIL = 'entityId names no session loaded for this tenant';

type ParseReject = Extract<ReturnType<typeof parseParticipantEvent>, { kind: 'reject' }>;

/** A row the event parser refused, keyed by its audit id (or its ordinal when it has none), with its raw row. */
const parseReject = (row: LegacyRow, ordinal: string | undefined, parsed: ParseReject): RejectInput => ({
  legacyKey: (row.id ?? '').trim() || `#${ordinal}`,
  reason: parsed.reason,
  detail: parsed.detail,
  raw: { ...row },
});

/** An event of a session that was not loaded, with its raw row. */
const orphanReject = (auditId: string, row: LegacyRow): RejectInput => ({ legacyKey: auditId, reason: 'orphan_event', detail: ORPHAN_DETAIL, raw: { ...row } });

/** Legacy session id → loaded session id, for the ids a batch mentions. */
async function sessionIds(ctx: StepContext, legacyIds: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (legacyIds.length === 0) return found;
  const rows = await ctx.query<{ legacy_id: string; id: string }>(
    'select legacy_id, id from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])',
    [ctx.tenantId, legacyIds],
  );
  for (const row of rows) found.set(row.legacy_id, row.id);
  return found;
}

interface ParsedBatch {
  /** Each event with its source row (an orphan's reject keeps the raw row, without searching the batch). */
  events: Array<{ event: ParticipantEvent; warnings: WarningCode[]; row: LegacyRow }>;
  rejects: RejectInput[];
}

function parseBatch(batch: Pick<LegacyBatch, 'rows' | 'ordinals'>): ParsedBatch {
  const out: ParsedBatch = { events: [], rejects: [] };
  batch.rows.forEach((row, i) => {
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'event') out.events.push({ event: parsed.event, warnings: parsed.warnings, row });
    else if (parsed.kind === 'reject') out.rejects.push(parseReject(row, batch.ordinals[i], parsed));
  });
  return out;
}

/** Rows the step will read, for the ETA only, so never awaited; a CSV export would have to be parsed twice, so it gets none. */
function countForEta(ctx: StepContext, source: LegacySource): { total?: number } {
  const eta: { total?: number } = {};
  if (source.kind === 'mysql' && !ctx.range)
    source.count('AuditLog', { tenantId: ctx.tenantId, where: PARTICIPANT_HISTORY }).then(
      (n) => (eta.total = n),
      () => undefined,
    );
  return eta;
}

/** Splits parsed events into those of loaded sessions and `orphan_event` rejects (pushed onto `rejects`). */
function keepLoaded(parsed: ParsedBatch, sessions: ReadonlyMap<string, string>): ParsedBatch['events'] {
  return parsed.events.filter(({ event, row }) => {
    if (sessions.has(event.sessionLegacyId)) return true;
    parsed.rejects.push(orphanReject(event.auditId, row));
    return false;
  });
}

type Aggregates = ReadonlyArray<{ sessionId: string; aggregate: ParticipantAggregate }>;

/** Where a fold reads and writes: the tenant's whole history into `session_participants`, or one key range into its staged rows. */
interface FoldTarget {
  after: string | null;
  until: string | null;
  /**
   * A batch's write, made when the batch is prepared and closing over its rows only (a closure made where the
   * batch is would keep its events, lookups and legacy rows until its commit).
   */
  writeOf(aggregates: Aggregates): (tx: Tx) => Promise<void>;
}

function foldTarget(ctx: StepContext, checkpoint: Checkpoint): FoldTarget {
  const range = ctx.range;
  const after = (checkpoint.cursor?.position as string | undefined) ?? range?.after ?? null;
  if (!range)
    return {
      after,
      until: null,
      writeOf: (aggregates) => {
        const rows = participantRows(ctx.tenantId, aggregates);
        return (tx) => upsertParticipants(tx, rows);
      },
    };
  return {
    after,
    until: range.until,
    writeOf: (aggregates) => {
      const staged = aggregates.map((a) => ({ ...a, warnings: [] }));
      return (tx) => stageRefold(tx, ctx.tenantId, range.key, staged);
    },
  };
}

/** A batch's participant events folded per (session, actor) in one pass over its rows. */
interface BatchFold {
  groups: Map<string, { aggregate: ParticipantAggregate; warnings: WarningCode[][] | null }>;
  /** Each session legacy id the batch's events name. */
  sessions: Set<string>;
  rejects: RejectInput[];
}

function foldBatch(batch: Pick<LegacyBatch, 'rows' | 'ordinals'>): BatchFold {
  const out: BatchFold = { groups: new Map(), sessions: new Set(), rejects: [] };
  const { rows, ordinals } = batch;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'reject') out.rejects.push(parseReject(row, ordinals[i], parsed));
    if (parsed.kind !== 'event') continue;
    const { event } = parsed;
    out.sessions.add(event.sessionLegacyId);
    const key = participantKey(event.sessionLegacyId, event.actorRef);
    const seen = out.groups.get(key);
    if (seen) foldEventInto(seen.aggregate, event);
    else out.groups.set(key, { aggregate: aggregateOf(event), warnings: null });
    // Warnings count per source row, for the events of loaded sessions only (decided after the lookup).
    if (parsed.warnings.length > 0) {
      const group = seen ?? out.groups.get(key)!;
      (group.warnings ??= []).push(parsed.warnings);
    }
  }
  return out;
}

/**
 * `orphan_event` rejects for the batch's events of sessions not loaded, in row order, each with its raw row: only
 * rows naming such a session (rare) are parsed again.
 */
function orphanRejects(rows: readonly LegacyRow[], missing: ReadonlySet<string>): RejectInput[] {
  const rejects: RejectInput[] = [];
  for (const row of rows) {
    if (!missing.has((row.entityId ?? '').trim())) continue;
    const parsed = parseParticipantEvent(row as unknown as LegacyAuditLog);
    if (parsed.kind === 'event') rejects.push(orphanReject(parsed.event.auditId, row));
  }
  return rejects;
}

/**
 * One batch of AuditLog rows as the engine commits it: parsed and grouped per participant in one pass, its
 * sessions looked up, and its write made. A function of its own so that the groups, lookups and legacy rows are
 * garbage when it returns: a batch waiting for or in its commit keeps only its participant rows and its rejects.
 */
async function prepareEvents(ctx: StepContext, batch: LegacyBatch, target: FoldTarget): Promise<Batch> {
  const folded = foldBatch(batch);
  const sessions = await sessionIds(ctx, [...folded.sessions]);
  const aggregates: Array<{ sessionId: string; aggregate: ParticipantAggregate }> = [];
  const missing = new Set<string>();
  const warnings: WarningCode[][] = [];
  for (const { aggregate, warnings: codes } of folded.groups.values()) {
    const sessionId = sessions.get(aggregate.sessionLegacyId);
    if (sessionId === undefined) {
      missing.add(aggregate.sessionLegacyId);
      continue;
    }
    aggregates.push({ sessionId, aggregate });
    if (codes) warnings.push(...codes);
  }
  const orphans = missing.size > 0 ? orphanRejects(batch.rows, missing) : [];
  return {
    cursor: { stage: 'events', position: batch.position },
    facts: { eventsThrough: batch.position },
    read: recordsOf(batch),
    written: 0,
    rejects: [...faultRejects(batch.faults), ...folded.rejects, ...orphans],
    warnings: tallyCodes(warnings) as Record<string, number>,
    write: target.writeOf(aggregates),
  };
}

/** {@link prepareEvents} for a window of the pushdown: the database's groups plus the rows it left whole. */
async function prepareWindow(
  ctx: StepContext,
  pushdown: ParticipantPushdown,
  options: ReadOptions,
  window: ParticipantWindow,
  target: FoldTarget,
): Promise<Batch> {
  const parsed = parseBatch(window);
  const groups = window.groups.map(aggregateOfGroup);
  const sessions = await sessionIds(ctx, [
    ...new Set([...parsed.events.map((e) => e.event.sessionLegacyId), ...groups.map((g) => g.aggregate.sessionLegacyId)]),
  ]);
  const kept = keepLoaded(parsed, sessions);
  const orphans = [...new Set(groups.filter((g) => !sessions.has(g.aggregate.sessionLegacyId)).map((g) => g.aggregate.sessionLegacyId))];
  if (orphans.length > 0) {
    const whole = parseBatch({ rows: await pushdown.plainRows(options, window, orphans), ordinals: [] });
    keepLoaded(whole, new Map());
    parsed.rejects.push(...whole.rejects);
  }
  const folded = foldWindow(
    groups.filter((g) => sessions.has(g.aggregate.sessionLegacyId)),
    kept.map((k) => k.event),
  );
  const aggregates = folded.map((aggregate) => ({ sessionId: sessions.get(aggregate.sessionLegacyId)!, aggregate }));
  return {
    cursor: { stage: 'events', position: window.position },
    facts: { eventsThrough: window.position },
    read: window.rows.length + window.groups.reduce((n, g) => n + g.events, 0),
    written: 0,
    rejects: parsed.rejects,
    warnings: tallyCodes(kept.map((k) => k.warnings)) as Record<string, number>,
    write: target.writeOf(aggregates),
  };
}

/**
 * The main pass on a source that groups participant events itself (MariaDB): per window of audit rows,
 * the database's groups plus the rows it left whole (parsed one by one), merged as the streaming fold
 * would; a group of a session not loaded is re-read whole, so its `orphan_event` rejects are per source row.
 */
async function foldWindows(
  ctx: StepContext,
  source: LegacySource,
  pushdown: ParticipantPushdown,
  checkpoint: Checkpoint,
  target: FoldTarget,
): Promise<boolean> {
  const options: ReadOptions = {
    tenantId: ctx.tenantId,
    where: PARTICIPANT_HISTORY,
    after: target.after,
    until: target.until,
    batchSize: ctx.options.batchSize,
    signal: ctx.signal,
  };
  let done = checkpoint.read;
  const eta = countForEta(ctx, source);
  // The next window is read, grouped and looked up while this one commits (see `foldEvents` for why that is safe).
  await withCommitPipeline(ctx, async (pipeline) => {
    for await (const window of pushdown.windows(options)) {
      const prepared = await prepareWindow(ctx, pushdown, options, window, target);
      await pipeline.push(prepared);
      done += prepared.read;
      ctx.progress(done, eta.total);
      if (ctx.signal.aborted) break;
    }
  });
  return !ctx.signal.aborted;
}

/** The main pass: every participant event of the tenant, folded into participants batch by batch. */
async function foldEvents(ctx: StepContext, source: LegacySource, checkpoint: Checkpoint): Promise<boolean> {
  const target = foldTarget(ctx, checkpoint);
  if (source.participants) return foldWindows(ctx, source, source.participants, checkpoint, target);
  let done = checkpoint.read;
  const eta = countForEta(ctx, source);
  // Pipelined: batch n+1 is read, parsed, looked up and grouped while batch n commits. That work reads only the
  // legacy source and virtual_sessions (1.1's rows, whose ids 1.4 never changes), never session_participants:
  // batches merge in the upsert itself, and upserts commit one at a time in batch order, so even a tie of
  // first joins resolves as the serial fold does (the earlier batch's row keeps role and name).
  await withCommitPipeline(ctx, async (pipeline) => {
    for await (const batch of source.read('AuditLog', {
      tenantId: ctx.tenantId,
      where: PARTICIPANT_HISTORY,
      after: target.after,
      until: target.until,
      batchSize: ctx.options.batchSize,
      signal: ctx.signal,
    })) {
      await pipeline.push(await prepareEvents(ctx, batch, target));
      done += recordsOf(batch);
      ctx.progress(done, eta.total);
      if (ctx.signal.aborted) break;
    }
  });
  return !ctx.signal.aborted;
}

interface LeaveOnlyRow {
  session_id: string;
  legacy_id: string;
  participant_ref: string;
}

/**
 * The settle pass: a participant is only known to have never joined once every event is folded. Such
 * rows are deleted and their events (re-read from legacy, only those sessions) rejected `left_without_join`.
 * Resumable: each round handles up to a batch of such participants and commits; done ones are gone.
 */
async function settleLeftWithoutJoin(ctx: StepContext, source: LegacySource): Promise<void> {
  for (;;) {
    // The leave-only rows are found first (one pass over the table) and only they are sorted: ordered and limited in
    // one query, the planner walked the whole primary-key index of every tenant's participants in key order instead.
    const ghosts = await ctx.query<LeaveOnlyRow>(
      `with ghost as materialized (
         select session_id, participant_ref from session_participants where tenant_id = $1 and source = 'audit_backfill' and join_count = 0
       )
       select g.session_id, s.legacy_id, g.participant_ref from ghost g join virtual_sessions s on s.id = g.session_id
        order by g.session_id, g.participant_ref limit $2`,
      [ctx.tenantId, ctx.options.batchSize],
    );
    if (ghosts.length === 0) return;
    const leaveOnly = ghosts.map((g) => ({ legacyId: g.legacy_id, actorRef: g.participant_ref }));
    const rejects = await leftWithoutJoinRejects(source, ctx.tenantId, ctx.options.batchSize, leaveOnly);
    await ctx.commit({ cursor: { stage: 'settle' }, read: 0, written: 0, rejects, write: (tx) => deleteLeaveOnly(tx, ghosts) });
  }
}

/**
 * `eventsThrough`: the legacy position of the last AuditLog row the fold read (null: none yet), and the kind of
 * source it is a position of, kept in the step's facts. Legacy keeps logging until the cutover; validate leaves
 * the sessions of events past it to the delta sync that folds them (validate/late-events.ts), as it does with a
 * session row edited since S1.
 */
const noEventsRead = (source: LegacySource) => ({ eventsThrough: null, eventsSource: source.kind });

/**
 * Plan 1.4: backfill SessionParticipant rows from AuditLog `participant.joined/left` (docs/design.md §5):
 * grouped per (session, actorRef); events of sessions not loaded → `orphan_event`, without actor →
 * `missing_actor`, of actors who never joined → `left_without_join`.
 */
export const participantsStep: Step = {
  id: '1.4',
  title: 'Backfill SessionParticipant rows from historical audit logs',
  async run(ctx, checkpoint) {
    const source = await ctx.services.legacy();
    const stage = checkpoint.cursor?.stage as string | undefined;
    // One key range of a split tenant: its events fold into its own staged rows; the tenant's run merges them.
    if (ctx.range) {
      const key = ctx.range.key;
      if (stage === undefined)
        await ctx.commit({
          cursor: { stage: 'events', position: null },
          facts: noEventsRead(source),
          read: 0,
          written: 0,
          write: (tx) => clearRefold(tx, ctx.tenantId, key),
        });
      await foldEvents(ctx, source, checkpoint);
      return;
    }
    const ranges = ctx.split?.ranges['1.4'];
    if (stage === undefined) {
      // A restarted step folds every event again: start from no backfilled participant, or joins would double.
      const clear = async (tx: Tx) =>
        void (await tx.query(`delete from session_participants where tenant_id = $1 and source = 'audit_backfill'`, [ctx.tenantId]));
      if (ranges) await takeOverRanges(ctx, checkpoint, ranges, { cursor: { stage: 'merge' }, facts: await rangeEventsRead(ctx, ranges), write: clear });
      else await ctx.commit({ cursor: { stage: 'events', position: null }, facts: noEventsRead(source), read: 0, written: 0, write: clear });
    }
    if (stage !== 'settled') {
      if (stage !== 'settle') {
        const folded = ranges ? await mergeRangeParticipants(ctx, ranges, checkpoint) : await foldEvents(ctx, source, checkpoint);
        if (!folded) return;
        if (ranges) await ctx.commit({ cursor: { stage: 'settle' }, read: 0, written: 0, write: (tx) => dropRangeParticipants(tx, ctx.tenantId, ranges) });
      }
      await settleLeftWithoutJoin(ctx, source);
    }
    const [count] = await ctx.query<{ n: number }>(`select count(*)::int as n from session_participants where tenant_id = $1 and source = 'audit_backfill'`, [
      ctx.tenantId,
    ]);
    await ctx.commit({ cursor: { stage: 'settled' }, read: 0, written: count!.n - checkpoint.written, facts: { participants: count!.n } });
  },
};
