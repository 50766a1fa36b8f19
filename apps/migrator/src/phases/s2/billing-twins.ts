import type { LegacyRow, LegacySource } from '../../legacy/types';

/**
 * Which copy of a legacy billing id is the billing event, when a CSV export carries the id more than once
 * (MariaDB's primary key cannot repeat): the first record of the id, in file order, that can be carried on its
 * own (its texts storable, its occurredAt a datetime, its units and placeOfService valid). `BillingEvent` has no
 * updated_at to settle by, as S1 and S3 do, and a carried bill is never replaced by another copy (legacy already sent it to the payer; only its status
 * follows its own copy's, billing-carry-over.ts), so the copy a pass meets
 * first stands and every later one is a `duplicate_legacy_id` reject of its own. Whether the copy's session was
 * migrated does not enter into it: that changes between S2 and S4 (an upcoming session S1 deferred), what a
 * copy is never does, so S2, S4 4.1 and 4.3, a resumed pass and `--restart-step` all name the same copy.
 *
 * This is what tells "the same source row again" from "another row with the same id": a pass keeps, per id,
 * the record that claimed it. A record meeting its own claim, or an id carried by an earlier run or phase with no
 * claim in this pass yet, is the same row again (nothing written, nothing rejected); a second record of a claimed
 * id is a twin. A resumed pass first reads the export again up to its cursor, claiming as the committed batches
 * did, so the twin of a row committed before a kill is still rejected after it.
 */
export class BillingTwins {
  private readonly claimed = new Map<string, string>();

  /** `csv` false (MariaDB): every id is unique, nothing is kept and every row claims its id. */
  constructor(private readonly csv: boolean) {}

  /** Whether `record` is its id's billing event: the id's first claim, or the same record again. Claims the id if free. */
  claims(legacyId: string, record: string): boolean {
    if (!this.csv) return true;
    const first = this.claimed.get(legacyId);
    if (first === undefined) {
      this.claimed.set(legacyId, record);
      return true;
    }
    return first === record;
  }
}

export const billingIdOf = (row: LegacyRow): string => (row.id ?? '').trim();

/**
 * The twins tracker of a billing pass over `source` starting after `after`: on a CSV export resumed after a
 * position, the records up to it read again (ordinals, not batch positions, so a changed `--batch-size` reads
 * the same prefix) and claimed as the committed batches claimed them. `canCarry` says whether a row can be
 * carried on its own (the same test the pass applies). Returns early, incomplete, when `signal` aborts: the
 * caller must then commit nothing.
 */
export async function billingTwins(
  source: LegacySource,
  tenantId: string,
  options: { after: string | null; batchSize: number; signal?: AbortSignal },
  canCarry: (row: LegacyRow) => boolean,
): Promise<BillingTwins> {
  const twins = new BillingTwins(source.kind === 'csv');
  if (source.kind !== 'csv' || options.after === null) return twins;
  const end = Number(options.after);
  for await (const batch of source.read('BillingEvent', { tenantId, batchSize: options.batchSize, signal: options.signal })) {
    for (const [i, row] of batch.rows.entries()) {
      const record = batch.ordinals[i]!;
      if (Number(record) > end) return twins;
      if (canCarry(row)) twins.claims(billingIdOf(row), record);
    }
    if (Number(batch.position) >= end || options.signal?.aborted) return twins;
  }
  return twins;
}
