import { mapLegacySession, pickDuplicateWinner, tallyCodes, type LegacyVirtualSession } from '@vc/domain/legacy';
import { withCommitPipeline, type CommitPipeline } from '../../engine/pipeline';
import type { Batch, BatchAdjustment, RejectInput, Step, StepContext, Tx } from '../../engine/types';
import type { KeyRangeReader, LegacyBatch } from '../../legacy/types';
import { s1AsOf } from './as-of';
import { settleExternalIdsByKey, type CountedCandidate } from './external-ids-by-key';
import { refusedWrite, writeClaimingIds, type LoserRaws } from './external-ids-on-conflict';
import { takeOverRanges } from './key-ranges';
import {
  addAdjustments,
  encodeSessions,
  loadedSessions,
  pendingLoad,
  reconstructedRaw,
  sessionLoad,
  sentSignal,
  writeSessions,
  type PendingLoad,
} from './session-rows';
import { faultRejects, recordsOf } from '../../legacy/record-faults';

interface MappedBatch {
  /** By legacy id, each already its COPY line: the batch waits in this form for the previous batch's commit. */
  loads: Map<string, PendingLoad>;
  rejects: RejectInput[];
  deferred: number;
  /** The batch's raw rows by source record: a row a twin of an earlier batch displaces is kept whole. */
  raws: Map<string, Record<string, unknown>>;
}

const DUPLICATE_DETAIL = 'another row has the same legacy id and a later updatedAt (export glitch); that row was loaded';

function duplicateReject(legacyId: string, sourceRecord: string, raw: Record<string, unknown>): RejectInput {
  return { legacyKey: `${legacyId}#${sourceRecord}`, reason: 'duplicate_legacy_id', detail: DUPLICATE_DETAIL, raw };
}

/**
 * Maps one batch; duplicates inside the batch are settled here (latest updatedAt wins). Each session becomes its
 * COPY line as soon as it is mapped, so the mapped objects die young (never promoted to V8's old space).
 */
function mapBatch(batch: LegacyBatch, asOf: Date, tenantId: string): MappedBatch {
  const rawByRecord = new Map<string, Record<string, unknown>>();
  // A record that is not a row (a malformed CSV record) is one reject, keyed by its file and line.
  const out: MappedBatch = { loads: new Map(), rejects: faultRejects(batch.faults), deferred: 0, raws: rawByRecord };
  batch.rows.forEach((row, i) => {
    const record = batch.ordinals[i]!;
    // The batch's rows are not changed after reading, so a reject keeps the row itself, not a copy per row.
    const raw = row as Record<string, unknown>;
    rawByRecord.set(record, raw);
    const mapping = mapLegacySession(row as unknown as LegacyVirtualSession, { asOf, tenantId });
    if (mapping.kind === 'deferred') out.deferred += 1;
    else if (mapping.kind === 'reject')
      out.rejects.push({ legacyKey: (row.id ?? '').trim() || `#${record}`, reason: mapping.reason, detail: mapping.detail, raw, source: batch.locations?.[i] });
    else {
      const { legacyId } = mapping.session;
      const seen = out.loads.get(legacyId);
      if (!seen) out.loads.set(legacyId, pendingLoad(sessionLoad(mapping.session, record, mapping.warnings)));
      else if (pickDuplicateWinner({ updatedAt: new Date(seen.updatedAt) }, mapping.session) === 'later') {
        out.rejects.push(duplicateReject(legacyId, seen.sourceRecord, rawByRecord.get(seen.sourceRecord)!));
        // The later twin is loaded under the id the first one was given.
        out.loads.set(legacyId, pendingLoad({ ...sessionLoad(mapping.session, record, mapping.warnings), id: seen.id }));
      } else out.rejects.push(duplicateReject(legacyId, record, raw));
    }
  });
  return out;
}

/**
 * Duplicates across batches (a CSV export can carry the twin anywhere): compared with what earlier
 * batches committed. A re-read of the same source record (`--restart-step`) is not a duplicate.
 * Returns the warning adjustments of displaced rows (their warnings no longer count).
 */
async function settleAcrossBatches(ctx: StepContext, mapped: MappedBatch): Promise<{ displaced: number; warnings: Record<string, number> }> {
  const adjust = { displaced: 0, warnings: {} as Record<string, number> };
  const ids = [...mapped.loads.keys()];
  const earlier = (await loadedSessions(ctx.query, ctx.tenantId, ids)).map((row) => ({
    legacyId: row.legacy_id,
    updatedAt: new Date(row.updated_at),
    sourceRecord: String(row.migrated_from?.sourceRecord ?? ''),
    raw: reconstructedRaw(row),
    warnings: (row.migrated_from?.warnings as string[] | undefined) ?? [],
  }));
  for (const prior of earlier) {
    const load = mapped.loads.get(prior.legacyId)!;
    if (prior.sourceRecord === load.sourceRecord) continue;
    if (pickDuplicateWinner(prior, { updatedAt: new Date(load.updatedAt) }) === 'later') {
      mapped.rejects.push(duplicateReject(prior.legacyId, prior.sourceRecord, prior.raw));
      adjust.displaced += 1;
      for (const code of prior.warnings) adjust.warnings[code] = (adjust.warnings[code] ?? 0) - 1;
    } else {
      mapped.loads.delete(prior.legacyId);
      mapped.rejects.push(duplicateReject(prior.legacyId, load.sourceRecord, mapped.raws.get(load.sourceRecord) ?? { id: prior.legacyId }));
    }
  }
  return adjust;
}

/**
 * A key range's write: its externalIds are settled inside the transaction, where the other ranges' commits
 * are visible (`settleExternalIdsByKey`), so it keeps the candidates themselves until then. Another tenant does not
 * take the range's tenant lock: an id it commits while the range writes refuses the write, which is settled again
 * (the other tenant's row is visible then) and retried, settle and write undone together, as long as each settle
 * rejects more rows than the last.
 */
function writeInRange<C extends PendingLoad & CountedCandidate>(
  tenantId: string,
  byKey: KeyRangeReader,
  loads: readonly C[],
): { write: (tx: Tx) => Promise<BatchAdjustment>; sent: Promise<void> } {
  const { sent, markSent } = sentSignal();
  const write = async (tx: Tx) => {
    let rejected = -1;
    for (;;) {
      let inRange: Awaited<ReturnType<typeof settleExternalIdsByKey<C>>> | undefined;
      let kept: BatchAdjustment | undefined;
      // The settle is undone with the write: a row it displaced (deleted, rejected) is displaced again by the next one.
      const refused = await refusedWrite(tx, async () => {
        inRange = await settleExternalIdsByKey(tx, tenantId, byKey, loads);
        kept = await writeSessions(tx, encodeSessions(inRange.kept), markSent);
      });
      // `kept`: the sessions the service changed since, which the upsert left as they are.
      if (!refused) return addAdjustments(inRange!.adjustment, kept) ?? {};
      const now = inRange?.adjustment.rejects?.length ?? 0;
      if (!inRange || now <= rejected) throw refused;
      rejected = now;
    }
  };
  return { write, sent };
}

/** The legacy rows of a whole-tenant batch's losers: read again by key from the legacy database. */
const rawsByKey =
  (tenantId: string, legacy: KeyRangeReader): LoserRaws =>
  async (losers) => {
    const rows = await legacy.byKeys(
      'VirtualSession',
      tenantId,
      losers.map((l) => l.sourceRecord),
    );
    return new Map(rows.map((row) => [row.id ?? '', row]));
  };

/**
 * The legacy rows of a CSV batch's losers: a CSV export cannot be read by key, so a CSV batch keeps its rows by source
 * record until its sessions are sent (`writeClaimingIds` lets go of them then): until then another tenant's commit can
 * refuse one of them.
 */
const rawsKept =
  (raws: ReadonlyMap<string, Record<string, unknown>>): LoserRaws =>
  async (losers) =>
    new Map(losers.map((l) => [l.sourceRecord, raws.get(l.sourceRecord) ?? { id: l.legacyId }]));

/**
 * One legacy batch as the engine commits it, and when its sessions are sent. Read while the previous batch commits,
 * mapped once that batch's sessions are sent (each session then kept as its COPY line), checked against what earlier
 * batches wrote once its commit is done, and encoded. Mapping waits for the previous COPY so that a tenant holds at
 * most one batch's lines beside one batch's legacy rows, never two batches' lines (the previous batch's are let go
 * when sent): the mapping still overlaps the rest of that transaction. A function of its own so that its legacy rows
 * and lines are garbage when it returns: a batch in its commit keeps only its COPY text and its rejects (each with its
 * raw row), not the objects it was made from.
 */
async function prepareBatch(
  ctx: StepContext,
  pipeline: CommitPipeline,
  csv: boolean,
  batch: LegacyBatch,
  asOf: Date,
  previousSent: Promise<void>,
  byKey: KeyRangeReader | undefined,
  claimOnWrite: KeyRangeReader | undefined,
): Promise<{ batch: Batch; sent: Promise<void> }> {
  // The previous batch's sessions are sent, or its commit has ended (failed before sending them, say).
  await Promise.race([previousSent, pipeline.drain()]);
  const mapped = mapBatch(batch, asOf, ctx.tenantId);
  // Mapping overlapped the end of the previous batch's commit; the checks below read what it wrote.
  await pipeline.drain();
  const adjust = csv ? await settleAcrossBatches(ctx, mapped) : { displaced: 0, warnings: {} };
  // A key range settles externalIds inside its transaction (`writeInRange`); a whole tenant only when PostgreSQL
  // refuses one of the batch's ids (`writeClaimingIds`), its losers' legacy rows read again by key, or kept (CSV).
  const loads = [...mapped.loads.values()];
  let written: { write: (tx: Tx) => Promise<BatchAdjustment | void>; sent: Promise<void> };
  if (byKey)
    written = writeInRange(
      ctx.tenantId,
      byKey,
      loads.map((l) => ({ ...l, raw: mapped.raws.get(l.sourceRecord)! })),
    );
  else if (claimOnWrite) written = writeClaimingIds(ctx.tenantId, rawsByKey(ctx.tenantId, claimOnWrite), loads);
  else written = writeClaimingIds(ctx.tenantId, rawsKept(mapped.raws), loads);
  const { write, sent } = written;
  const warnings = tallyCodes(loads.map((l) => l.warnings)) as Record<string, number>;
  for (const [code, n] of Object.entries(adjust.warnings)) warnings[code] = (warnings[code] ?? 0) + n;
  return {
    batch: {
      cursor: { position: batch.position },
      read: recordsOf(batch),
      written: loads.length - adjust.displaced,
      deferred: mapped.deferred,
      rejects: mapped.rejects,
      warnings,
      facts: { asOf: asOf.toISOString() },
      write,
    },
    sent,
  };
}

/**
 * Plan 1.1 (with 1.2's videoBackend mapping and 1.5's status rules applied on the way, docs/design.md §5):
 * streams the tenant's legacy VirtualSession rows in keyset batches, loads the historical ones, defers
 * the rest for s4, rejects what cannot load. Each batch's sessions, id-map rows, rejects and checkpoint
 * commit together.
 */
export const exportSessionsStep: Step = {
  id: '1.1',
  title: 'Export VirtualSession records and load the historical ones',
  async run(ctx, checkpoint) {
    const asOf = await s1AsOf(ctx, checkpoint);
    const ranges = ctx.split?.ranges['1.1'];
    // A split tenant's key ranges did the reading: the whole-tenant step takes over their totals.
    if (ranges) {
      await takeOverRanges(ctx, checkpoint, ranges);
      return { facts: { asOf: asOf.toISOString() } };
    }
    const source = await ctx.services.legacy();
    const range = ctx.range;
    const byKey = range ? source.ranges : undefined;
    if (range && !byKey) throw new Error(`${source.description} cannot be read by key range: a split tenant's item needs the legacy database`);
    let total: number | undefined;
    // For the ETA only, so never awaited; a CSV export would have to be parsed twice, so it gets none.
    if (source.kind === 'mysql' && !range)
      source.count('VirtualSession', { tenantId: ctx.tenantId }).then(
        (n) => (total = n),
        () => undefined,
      );
    let done = checkpoint.read;
    const after = (checkpoint.cursor?.position as string | undefined) ?? range?.after ?? null;
    await withCommitPipeline(ctx, async (pipeline) => {
      // No read-ahead: the next read overlaps this batch's commit already (ReadOptions.readAhead).
      const options = { tenantId: ctx.tenantId, after, until: range?.until ?? null, batchSize: ctx.options.batchSize, signal: ctx.signal, readAhead: false };
      let sent = Promise.resolve();
      for await (const batch of source.read('VirtualSession', options)) {
        const prepared = await prepareBatch(ctx, pipeline, source.kind === 'csv', batch, asOf, sent, byKey, range ? undefined : source.ranges);
        sent = prepared.sent;
        await pipeline.push(prepared.batch);
        done += recordsOf(batch);
        ctx.progress(done, total);
        if (ctx.signal.aborted) break;
      }
    });
    if (ctx.signal.aborted) return;
    return { facts: { asOf: asOf.toISOString() } };
  },
};
