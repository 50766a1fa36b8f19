import { pickDuplicateWinner } from '@vc/domain/legacy';
import type { RejectInput } from '../../engine/types';
import type { LegacyRow } from '../../legacy/types';

/** A changed session row of the export as the delta sync met it: where it sits, how new it is, and the row itself. */
export interface MetRow {
  legacyId: string;
  /** The export's record number (its `LegacyBatch` ordinal). */
  sourceRecord: string;
  updatedAt: Date;
  raw: LegacyRow;
  /** `file:line`, so two rows with one id keep a reject each. */
  source?: string;
}

const DETAIL = 'another row has the same legacy id and a later updatedAt (export glitch); that row was loaded';

/** The reject of the twin that lost, keyed as S1 1.1 keys it (`<id>#<record>`). */
export function duplicateReject(row: MetRow): RejectInput {
  return { legacyKey: `${row.legacyId}#${row.sourceRecord}`, reason: 'duplicate_legacy_id', detail: DETAIL, raw: { ...row.raw }, source: row.source };
}

/**
 * The ids a delta sync met in a CSV export's earlier batches. A CSV export can carry one id twice, anywhere in
 * the file (MySQL's primary key cannot), and the upsert keeps only the newer version: without this, a stale twin
 * read in a later batch than its newer sibling was left out without a reject. Holds the pass's changed rows only
 * (what changed since S1's watermark), each with its raw row so the loser's reject carries it; a resumed pass
 * meets the batches before its cursor again first (`meet`), so what a crash forgot is known again.
 */
export class ExportTwins {
  private readonly met = new Map<string, MetRow>();

  /** Rows of batches already committed (a resumed pass): known, nothing rejected. */
  meet(rows: Iterable<MetRow>): void {
    for (const row of rows) this.settle([row]);
  }

  /**
   * A batch's rows (one per id: its in-batch twins already settled) against the earlier batches': the ids whose
   * row in this batch lost to an earlier one (to be left out), and a reject for every loser.
   */
  settle(rows: Iterable<MetRow>): { lost: Set<string>; rejects: RejectInput[] } {
    const lost = new Set<string>();
    const rejects: RejectInput[] = [];
    for (const row of rows) {
      const earlier = this.met.get(row.legacyId);
      // The same record met again (a resumed pass re-meeting its batches) is no twin.
      if (!earlier || earlier.sourceRecord === row.sourceRecord) {
        this.met.set(row.legacyId, row);
        continue;
      }
      if (pickDuplicateWinner(earlier, row) === 'later') {
        rejects.push(duplicateReject(earlier));
        this.met.set(row.legacyId, row);
      } else {
        rejects.push(duplicateReject(row));
        lost.add(row.legacyId);
      }
    }
    return { lost, rejects };
  }
}
