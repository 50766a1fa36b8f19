import { reconcileSessions, type CheckResult } from '@vc/domain/checklist';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacyBatch, LegacySource } from '../legacy/types';
import { sessionRejectRows } from '../phases/session-rejects';
import { deferredRow, deltaSyncScope, type DeltaSyncScope } from './s4-scope';
import { rejectedRecordLocations, sortFaults } from './unread-records';

/** Legacy ids of session rows that went to the rejects (per id, how many source rows): see {@link sessionRejectRows}. */
async function rejectedSessionCounts(db: Database, tenantId: string): Promise<Map<string, number>> {
  const rows = await queryRows<{ id: string; n: number | string }>(
    db,
    sql`select trim(r.raw->>'id') as id, count(*) as n from vc_migration.rejects r where ${sessionRejectRows(tenantId)} group by 1`,
  );
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/**
 * Plan §5 "historical sessions imported … counts reconciled", tallied a legacy batch at a time: every legacy
 * source row is loaded (its id is in virtual_sessions, once), rejected (a reject row per source row), or
 * deferred (not historical at S1's watermark and not loaded yet; once S4's delta sync ran, only what legacy
 * took at or after the sync's as-of: the rest is S4's to have loaded). Anything else is missing and sampled
 * by legacy id; a tenant S1 never ran for has no watermark, so all its rows are missing. A malformed CSV
 * record has no id to trust: it counts as rejected when a phase rejected it at its `file:line`, else it is
 * unread and sampled by `file:line`. Fed by its own read (`checkSessionCounts`) or by the fingerprints' pass
 * over the same rows, which already asks the target which of a batch's ids it holds.
 */
export class SessionTally {
  private readonly counts = { legacy: 0, loaded: 0, rejected: 0, deferred: 0 };
  private readonly missing: string[] = [];
  private readonly unread: string[] = [];
  /** A legacy id repeats only in a CSV export (MySQL's is the primary key): only there are ids remembered. */
  private readonly counted: Set<string> | undefined;
  private done = false;

  private constructor(
    private readonly rejected: Map<string, number>,
    private readonly rejectedRecords: ReadonlySet<string>,
    csv: boolean,
    private readonly watermark: Date | undefined,
    private readonly s4: DeltaSyncScope | undefined,
  ) {
    this.counted = csv ? new Set() : undefined;
  }

  static async of(db: Database, legacy: LegacySource, tenantId: string, watermark: Date | undefined): Promise<SessionTally> {
    const csv = legacy.kind === 'csv';
    // A malformed record of a CSV export is a legacy row too: a reject when a phase rejected it, else unread.
    const records = csv ? await rejectedRecordLocations(db, tenantId, 'VirtualSession.csv') : new Set<string>();
    const s4 = watermark ? await deltaSyncScope(db, tenantId) : undefined;
    return new SessionTally(await rejectedSessionCounts(db, tenantId), records, csv, watermark, s4);
  }

  /** One legacy batch (its rows need `id`, `scheduledStart`, `createdAt`, `updatedAt`), with which of its ids the target holds. */
  add(batch: Pick<LegacyBatch, 'rows' | 'faults'>, loaded: ReadonlySet<string>): void {
    const faults = sortFaults(batch.faults, this.rejectedRecords);
    this.counts.legacy += batch.faults?.length ?? 0;
    this.counts.rejected += faults.rejected;
    this.unread.push(...faults.unread);
    // Within the batch too, a loaded id counts once (a later twin is then a reject or missing).
    const seen = this.counted ?? new Set<string>();
    for (const row of batch.rows) {
      this.counts.legacy += 1;
      const id = (row.id ?? '').trim();
      const remainingRejects = this.rejected.get(id) ?? 0;
      if (loaded.has(id) && !seen.has(id)) {
        seen.add(id);
        this.counts.loaded += 1;
      } else if (remainingRejects > 0) {
        this.rejected.set(id, remainingRejects - 1);
        this.counts.rejected += 1;
      } else if (this.watermark !== undefined && deferredRow(row, this.watermark, this.s4)) {
        this.counts.deferred += 1;
      } else {
        this.missing.push(id);
      }
    }
  }

  /** Whether every batch of the tenant was added (a pass that failed midway leaves it false). */
  get ended(): boolean {
    return this.done;
  }

  end(): void {
    this.done = true;
  }

  result(tenantId: string): CheckResult {
    return reconcileSessions(tenantId, this.counts, this.missing, this.unread);
  }
}
