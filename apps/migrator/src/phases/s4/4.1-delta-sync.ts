import { tallyCodes, type LegacyVirtualSession } from '@vc/domain/legacy';
import { storableKey, storableReject } from '../../engine/storable-reject';
import type { Checkpoint, Cursor, RejectInput, Step, StepContext } from '../../engine/types';
import type { LegacyBatch, LegacySource } from '../../legacy/types';
import { leafOf } from '../../evidence/fingerprint';
import { sessionProjection, TARGET_SESSION_COLUMN_LIST, targetSessionLeaf, type TargetRow } from '../../validate/session-digests';
import { s1Watermark } from '../../validate/watermark';
import { settleExternalIds } from '../s1/external-ids';
import { sessionId } from '../s1/ids';
import { refineInferredEnds } from '../s1/inferred-ends';
import { inIdOrder } from '../s1/session-rows';
import { carryOverBilling } from '../s2/billing-carry-over';
import { backfillEncounters, supersededBackfills, type BackfillTotals } from '../s2/encounter-backfill';
import { writeBatch, type DeltaLoad } from './delta-batch-write';
import { foldDeltaParticipants } from './delta-participants';
import { changedSince, LOADED_UPCOMING, mapDeltaSession } from './delta-session';
import { duplicateReject, ExportTwins } from './export-twins';
import { adoptShadowTwins } from './shadow-twins';
import { faultRejects, recordsOf } from '../../legacy/record-faults';
import { OWNER_COLUMNS, ownerOf, type OwnedRow } from '../still-migrated';

/** The stages of a delta sync, in order; a cursor names the one it stopped in. */
const STAGES = ['sessions', 'participants', 'ends', 'billing', 'encounters'] as const;
type Stage = (typeof STAGES)[number];

function stageOf(cursor: Cursor | null): Stage {
  // carryOverBilling (S2's) commits its own cursor, `{ billingAfter }`.
  if (cursor && 'billingAfter' in cursor) return 'billing';
  const stage = cursor?.stage as Stage | undefined;
  return stage && STAGES.includes(stage) ? stage : 'sessions';
}
const upTo = (stage: Stage, last: Stage) => STAGES.indexOf(stage) <= STAGES.indexOf(last);

/**
 * Which earlier rejects are the same legacy row's. VirtualSession and AuditLog ids both count from 1, and one S4
 * step rejects rows of both (its sessions pass, its participant refold), so a bare id names no row by itself:
 * S4 keys the AuditLog rows it rejects `AuditLog:<id>`, and a reject is "already recorded" only by the step
 * that reads the same table (S1 1.1 for sessions, S1 1.4 for AuditLog, bare keys there) or by S4 itself.
 * Billing and Encounter rejects carry their table in the key already (`BillingEvent:…`, `VirtualSession:…`).
 */
interface RejectScope {
  /** Prepended to the keys this scope's rejects are recorded under in S4. */
  prefix: string;
  /** The S1 step that rejects rows of the same table, under their bare keys; none: keys name their table. */
  s1Step?: '1.1' | '1.4';
}
const SESSION_ROWS: RejectScope = { prefix: '', s1Step: '1.1' };
const AUDIT_ROWS: RejectScope = { prefix: 'AuditLog:', s1Step: '1.4' };
const SELF_KEYED: RejectScope = { prefix: '' };

/** The forms a reject's key may be stored under (insertRejects keys a CSV twin by its location too). */
const storedForms = (key: string, source: string | undefined) => {
  const stored = storableKey(key);
  return source === undefined ? [stored] : [stored, `${stored}@${source}`];
};

/**
 * A context whose commits leave out the rejects an earlier step or phase already recorded for the same
 * legacy row and reason (S1 1.1 or 1.4, S2 2.4's billing, 4.1 for 4.3): one bad row is one reject across
 * phases, and a row of one table never hides another table's row that happens to share its id.
 */
function skippingKnownRejects(ctx: StepContext, scope: RejectScope): StepContext {
  // A malformed CSV record is keyed by its location (`AuditLog.csv:6`), which names its table already.
  const ownKey = (r: RejectInput) => (r.source !== undefined && r.legacyKey === r.source ? r.legacyKey : `${scope.prefix}${r.legacyKey}`);
  return {
    ...ctx,
    async commit(batch) {
      const given = batch.rejects ?? [];
      if (given.length === 0) return ctx.commit(batch);
      const rejects = given.map((r) => storableReject({ ...r, legacyKey: ownKey(r) }));
      const bare = scope.s1Step === undefined ? [] : given.flatMap((r) => storedForms(r.legacyKey, r.source));
      const own = given.flatMap((r) => storedForms(ownKey(r), r.source));
      const known = await ctx.query<{ phase: string; legacy_key: string; reason: string }>(
        `select phase, legacy_key, reason from vc_migration.rejects
          where tenant_id = $1 and not (phase = $2 and step_id = $3)
            and (legacy_key = any($4::text[]) and ($5::text is null or phase = 's4')
              or phase = 's1' and step_id = $5 and legacy_key = any($6::text[]))`,
        [ctx.tenantId, ctx.phase, ctx.stepId, [...new Set(own)], scope.s1Step ?? null, [...new Set(bare)]],
      );
      const seen = new Set(known.map((k) => `${k.phase === 's1' && scope.s1Step ? 's1' : 'own'}\u0000${k.legacy_key}\u0000${k.reason}`));
      const isKnown = (r: RejectInput) =>
        storedForms(ownKey(r), r.source).some((k) => seen.has(`own\u0000${k}\u0000${r.reason}`)) ||
        (scope.s1Step !== undefined && storedForms(r.legacyKey, r.source).some((k) => seen.has(`s1\u0000${k}\u0000${r.reason}`)));
      return ctx.commit({ ...batch, rejects: rejects.filter((_, i) => !isKnown(given[i]!)) });
    },
  };
}

/**
 * S4 delta sync: what changed in legacy since S1's watermark — sessions created or edited after it, and
 * the upcoming ones S1 deferred (loaded as `scheduled`) — through the S1 mapping, upserted by
 * (tenant, legacy id) so the latest legacy version wins and re-runs change nothing; then the participants
 * of every migrated historical session refolded from legacy's AuditLog, only differences written (see
 * {@link foldDeltaParticipants}); then the end of sessions legacy never ended re-inferred from the last
 * leave (S1 1.5's rule, {@link refineInferredEnds}); then the legacy billing events of migrated sessions
 * (S2's {@link carryOverBilling}, keyed by legacy id: re-runs insert nothing); then the Encounters legacy
 * never made for sessions that ended since (see {@link backfillEncounters}, as in S2). Resumable stage by
 * stage. Run by 4.1 before the cutover and again by 4.3 after it (`final`). Counts say what the run changed.
 */
export async function runDeltaSync(started: StepContext, checkpoint: Checkpoint, options: { final?: boolean } = {}): Promise<void> {
  const given = withResumedAsOf(started, checkpoint);
  const ctx = skippingKnownRejects(given, SELF_KEYED);
  const watermark = (await s1Watermark(ctx.db.db, ctx.tenantId)) ?? (checkpoint.facts.watermark ? new Date(String(checkpoint.facts.watermark)) : undefined);
  if (!watermark) throw new Error(`tenant ${ctx.tenantId} has no S1 watermark: run \`migrator phase s1 --tenant ${ctx.tenantId}\` first`);
  const stage = stageOf(checkpoint.cursor);
  if (stage === 'sessions' && !(await syncSessions(skippingKnownRejects(given, SESSION_ROWS), checkpoint, watermark))) return;
  if (
    upTo(stage, 'participants') &&
    !(await foldDeltaParticipants(skippingKnownRejects(given, AUDIT_ROWS), stage === 'participants' ? checkpoint.cursor : null))
  )
    return;
  if (upTo(stage, 'ends')) {
    // New leaves may move the inferred end of any session legacy never ended (S1 1.5's rule, again).
    const afterId = stage === 'ends' ? (checkpoint.cursor?.afterId as string | undefined) : undefined;
    if (!(await refineInferredEnds(ctx, { afterId, bumpVersion: true, countRead: false, cursorOf: (id) => ({ stage: 'ends', afterId: id }) }))) return;
    await ctx.commit({ cursor: { stage: 'billing' }, read: 0, written: 0 });
  }
  if (upTo(stage, 'billing')) {
    await carryOverBilling(ctx, stage === 'billing' ? ((checkpoint.cursor?.billingAfter as string | undefined) ?? null) : null);
    if (ctx.signal.aborted) return;
  }
  const resumed = stage === 'encounters';
  const after = resumed ? ((checkpoint.cursor?.encountersAfter as string | undefined) ?? null) : null;
  const backfill = await backfillEncounters(
    ctx,
    { stage: 'encounters' },
    after,
    resumed ? (checkpoint.facts.backfill as BackfillTotals | undefined) : undefined,
  );
  if (!backfill) return;
  const superseded = await supersededBackfills(ctx);
  if (superseded.count > 0) {
    ctx.log.warn(
      { tenant: ctx.tenantId, count: superseded.count, sessions: superseded.legacyIds.map((id) => `VirtualSession:${id}`) },
      "legacy later recorded its own Encounter for sessions the migrator had made one for: retract the migrator's (vc_migration.encounter_backfills) in the EHR",
    );
  }
  await ctx.commit({
    cursor: { stage: 'done' },
    read: 0,
    written: 0,
    facts: { backfill, supersededBackfills: { count: superseded.count, samples: superseded.legacyIds.map((id) => `VirtualSession:${id}`) } },
    // Counted once per phase run, by the final sync (4.3): 4.1 sees the same sessions and would double it.
    warnings: superseded.count > 0 && options.final ? { backfilled_encounter_superseded: superseded.count } : undefined,
  });
}

/**
 * A resumed sync maps at the as-of its committed batches were mapped at (recorded in its facts), not the new run's:
 * a session upcoming at the first as-of and past at the second would otherwise be `scheduled` in one batch and
 * `cancelled` in the next, and validate, mapping every row the sync loaded at the one as-of it recorded, would fail
 * the others. 4.1 and 4.3 are separate steps, each keeping its own.
 */
function withResumedAsOf(ctx: StepContext, checkpoint: Checkpoint): StepContext {
  const stored = checkpoint.cursor === null ? undefined : checkpoint.facts.asOf;
  if (typeof stored !== 'string' || Date.parse(stored) === ctx.options.asOf.getTime()) return ctx;
  ctx.log.info({ tenant: ctx.tenantId, step: ctx.stepId, asOf: stored }, 'resuming the delta sync with the as-of of the interrupted run');
  return { ...ctx, options: { ...ctx.options, asOf: new Date(stored) } };
}

/** Step 4.1: the delta sync before the cutover (legacy still takes writes; 4.3 catches what comes after). */
export const deltaSyncStep: Step = {
  id: '4.1',
  title: 'Delta-sync legacy changes since the S1 watermark',
  run: (ctx, checkpoint) => runDeltaSync(ctx, checkpoint),
};

/**
 * Of a batch's loads, those that change the target (as the upsert decides), and how many legacy changes meet a row
 * the service wrote since (kept as the service has it, counted `session_changed_by_service`). A row still the
 * migrator's (still-migrated.ts) changes when it is new, or legacy's version is not the one loaded (stamped later,
 * or earlier: legacy's clock set back), or it is the same version of a session an earlier sync loaded as upcoming
 * (`scheduled`, or `cancelled` with no start or end: marked {@link LOADED_UPCOMING}) that is past at this sync's
 * as-of. 4.1 and 4.3 may run days apart (4.2 refused by its gates, run again later): a session upcoming at 4.1
 * that legacy never touched again (a no-show, a call that failed after starting early) is historical by 4.3 and
 * maps as S1 maps it then; kept as loaded, the target would hold neither legacy's outcome nor what validate,
 * mapping at the sync's as-of, expects. And the same version whose mapped content differs from the stored row's
 * (validate's projection): legacy edited the row again within the same millisecond of its `updatedAt` (or stamped
 * both edits alike), which a version comparison alone never syncs and validate fails forever.
 */
async function changing(ctx: StepContext, loads: readonly DeltaLoad[]): Promise<{ writes: DeltaLoad[]; keptByService: number }> {
  if (loads.length === 0) return { writes: [], keptByService: 0 };
  const stored = await ctx.query<TargetRow & OwnedRow & { upcoming: boolean }>(
    `select ${TARGET_SESSION_COLUMN_LIST.join(', ')}, ${OWNER_COLUMNS}, coalesce(migrated_from ? '${LOADED_UPCOMING}', false) as upcoming
       from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[])`,
    [ctx.tenantId, loads.map((l) => l.session.legacyId)],
  );
  const byId = new Map(stored.map((r) => [r.legacy_id, r]));
  let keptByService = 0;
  const writes = loads.filter((l) => {
    const held = byId.get(l.session.legacyId);
    if (!held) return true;
    const at = l.session.updatedAt.getTime();
    const { migrators, loadedAt } = ownerOf(held, at);
    if (!migrators) {
      // Legacy changed a row the service changed too: the service's stands, and the summary says so.
      if (loadedAt !== undefined && loadedAt !== at) keptByService += 1;
      return false;
    }
    if (loadedAt !== at) return true;
    return (
      ((held.upcoming || held.status === 'scheduled') && l.session.migratedFrom[LOADED_UPCOMING] !== true) ||
      targetSessionLeaf(held) !== leafOf(sessionProjection(l.session))
    );
  });
  return { writes, keptByService };
}

/**
 * A batch's rows changed since the watermark, mapped: one load per legacy id (of two rows with one id in the batch,
 * the later updatedAt wins and the other is rejected, as S1 does), and the rejects.
 */
function mapChanged(batch: LegacyBatch, watermark: Date, asOf: Date, tenantId: string): { latest: Map<string, DeltaLoad>; rejects: RejectInput[] } {
  const latest = new Map<string, DeltaLoad>();
  // A malformed record cannot say whether it changed since the watermark: it is rejected (once; see skippingKnownRejects).
  const rejects: RejectInput[] = faultRejects(batch.faults);
  batch.rows.forEach((row, i) => {
    if (!changedSince(row, watermark.getTime())) return;
    const mapped = mapDeltaSession(row as unknown as LegacyVirtualSession, asOf, tenantId);
    if (mapped.kind === 'reject') {
      // S1 1.1's key for the same row: a row both reject is one reject (see skippingKnownRejects).
      rejects.push({
        legacyKey: (row.id ?? '').trim() || `#${batch.ordinals[i]}`,
        reason: mapped.reason,
        detail: mapped.detail,
        raw: { ...row },
        source: batch.locations?.[i],
      });
      return;
    }
    const s = mapped.session;
    const load: DeltaLoad = {
      id: sessionId(s.tenantId, s.legacyId, s.externalId),
      session: s,
      warnings: mapped.warnings,
      legacyId: s.legacyId,
      sourceRecord: batch.ordinals[i]!,
      updatedAt: s.updatedAt,
      raw: row,
      source: batch.locations?.[i],
    };
    const seen = latest.get(s.legacyId);
    if (!seen) latest.set(s.legacyId, load);
    else {
      const [kept, displaced] = seen.session.updatedAt < s.updatedAt ? [load, seen] : [seen, load];
      latest.set(s.legacyId, kept);
      rejects.push(duplicateReject(displaced));
    }
  });
  return { latest, rejects };
}

/** A batch cut to its records numbered at most `last`; its faults are dropped (rejected when first read, and never met). */
function recordsUpTo(batch: LegacyBatch, last: number): LegacyBatch {
  const keep = batch.ordinals.map((o) => Number(o) <= last);
  const pick = <T>(list: readonly T[]): T[] => list.filter((_, i) => keep[i]);
  return { ...batch, rows: pick(batch.rows), ordinals: pick(batch.ordinals), locations: batch.locations && pick(batch.locations), faults: [] };
}

/** A resumed pass over a CSV export: the rows of the batches it committed before, met again (see ExportTwins). */
async function metBefore(source: LegacySource, ctx: StepContext, after: string, watermark: Date): Promise<ExportTwins> {
  const twins = new ExportTwins();
  for await (const batch of source.read('VirtualSession', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    // Only the records before the cursor, cut before mapping: the batch settles its own twins, and a committed
    // row whose newer twin sits past the cursor in the same batch (a resume with a larger --batch-size) would
    // lose to it here and never be met, so the twin would later displace it with no reject.
    const { latest } = mapChanged(recordsUpTo(batch, Number(after)), watermark, ctx.options.asOf, ctx.tenantId);
    twins.meet(latest.values());
    // Positions are record numbers: the batches before the cursor end here, whatever batch size they were read with.
    if (Number(batch.position) >= Number(after)) break;
  }
  return twins;
}

/**
 * The sessions pass; false when interrupted (the next run resumes after the last committed batch).
 * `written` and the warnings count only the rows this run changes: a sync that finds nothing new (4.3
 * right after 4.1, a re-run) reports 0, and a row 4.1 loaded is not counted again by 4.3.
 */
async function syncSessions(ctx: StepContext, checkpoint: Checkpoint, watermark: Date): Promise<boolean> {
  const source = await ctx.services.legacy();
  const after = (checkpoint.cursor?.after as string | undefined) ?? null;
  let done = checkpoint.read;
  // A CSV export can repeat an id in any two batches; MySQL's primary key cannot.
  const twins = source.kind === 'csv' ? (after === null ? new ExportTwins() : await metBefore(source, ctx, after, watermark)) : undefined;
  for await (const batch of source.read('VirtualSession', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, after, signal: ctx.signal })) {
    const { latest, rejects } = mapChanged(batch, watermark, ctx.options.asOf, ctx.tenantId);
    if (twins) {
      const settledTwins = twins.settle(latest.values());
      for (const id of settledTwins.lost) latest.delete(id);
      rejects.push(...settledTwins.rejects);
    }
    // The service's shadow-mode twins of these rows are adopted, not doubled (see shadow-twins.ts).
    const shadow = await adoptShadowTwins(ctx, [...latest.values()]);
    rejects.push(...shadow.rejects);
    const settled = await settleExternalIds(ctx, shadow.loads);
    rejects.push(...settled.rejects);
    // In id order, as S1 sends its sessions (`inIdOrder`): a tenant's S1 may be writing a shared externalId meanwhile.
    const { writes: changed, keptByService } = await changing(ctx, settled.kept);
    const writes = inIdOrder(changed);
    const warnings = tallyCodes([...writes, ...shadow.adopted.map((a) => a.load)].map((l) => l.warnings)) as Record<string, number>;
    if (keptByService > 0) {
      warnings.session_changed_by_service = keptByService;
      ctx.log.warn(
        { tenant: ctx.tenantId, kept: keptByService },
        'legacy changed sessions the service changed since the migration: kept as the service has them',
      );
    }
    await ctx.commit({
      cursor: { after: batch.position },
      read: recordsOf(batch),
      written: writes.length + shadow.adopted.length,
      rejects,
      warnings,
      // The as-of the rows were mapped at: validate maps them at it again to compare what this sync loaded.
      facts: { watermark: watermark.toISOString(), asOf: ctx.options.asOf.toISOString() },
      write: (tx) => writeBatch(tx, ctx.tenantId, shadow.write, writes),
    });
    done += recordsOf(batch);
    ctx.progress(done);
    if (ctx.signal.aborted) return false;
  }
  return true;
}
