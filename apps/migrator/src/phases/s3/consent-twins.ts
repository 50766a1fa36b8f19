import { parseLegacyDatetime, pickDuplicateWinner } from '@vc/domain/legacy';
import type { RejectInput } from '../../engine/types';
import type { LegacyBatch, LegacyRow, LegacySource } from '../../legacy/types';
import { consentLegacyKey } from './consent-rows';

/** Rows with no usable updated_at lose to any dated twin. */
const UNDATED = new Date(-8.64e15);

const DUPLICATE_DETAIL = 'another row has the same legacy id and a later updated_at (export glitch); that row was imported';

/**
 * The consent ids a source carries more than once, each with the record (`LegacyBatch.ordinals`) that is the
 * consent: a stale "granted" copy of a revoked consent must never be imported, nor decide a patient.
 */
export interface ConsentTwins {
  /** Whether this record lost to a twin of its id (the step leaves it out; 3.1 rejects it). */
  lost(legacyId: string, record: string): boolean;
}

const NO_TWINS: ConsentTwins = { lost: () => false };

/**
 * Reads the tenant's consents once and settles every id seen twice as S1 settles sessions: the later
 * `updated_at` wins; on a tie a copy that is not `granted` outranks a `granted` one, else the record read first. Every row with an id takes part, even one 3.1 rejects for
 * another reason: when the newest row of an id cannot be imported, no older copy stands in for it. The outcome
 * depends on the source only, so 3.1, 3.2, 3.3 and `validate` agree, and a resumed or repeated run keeps the
 * same winners (and 3.1's rejects their keys). MySQL's primary key cannot repeat: only a CSV export is read.
 */
export async function settleConsentTwins(source: LegacySource, tenantId: string, batchSize: number, signal?: AbortSignal): Promise<ConsentTwins> {
  if (source.kind !== 'csv') return NO_TWINS;
  // Per id, the record winning so far; only the ids seen twice are kept once the scan is done.
  const best = new Map<string, { record: string; updatedAt: Date; grants: boolean }>();
  const twice = new Set<string>();
  for await (const batch of source.read('telehealth_consent', { tenantId, batchSize, signal })) {
    batch.rows.forEach((row, i) => {
      const legacyId = consentIdOf(row);
      if (legacyId === '') return;
      const seen = { record: batch.ordinals[i]!, updatedAt: updatedAtOf(row), grants: grants(row) };
      const earlier = best.get(legacyId);
      if (!earlier) return void best.set(legacyId, seen);
      twice.add(legacyId);
      // Two copies of one instant: a revocation must not lose to a grant because it was read second.
      const tie = seen.updatedAt.getTime() === earlier.updatedAt.getTime();
      if (tie ? earlier.grants && !seen.grants : pickDuplicateWinner(earlier, seen) === 'later') best.set(legacyId, seen);
    });
  }
  const winners = new Map([...twice].map((id) => [id, best.get(id)!.record]));
  best.clear();
  return { lost: (legacyId, record) => winners.has(legacyId) && winners.get(legacyId) !== record };
}

/** The batch's rows less the copies that lost to a twin (3.1's rejects): what 3.2, 3.3 and validate read. */
export function rowsKept(twins: ConsentTwins, batch: LegacyBatch): LegacyRow[] {
  return batch.rows.filter((row, i) => !twins.lost(consentIdOf(row), batch.ordinals[i]!));
}

export function consentIdOf(row: LegacyRow): string {
  return (row.id ?? '').trim();
}

/** Whether the copy says granted (what a tie must not let stand over a revocation or an expiry). */
function grants(row: LegacyRow): boolean {
  return (row.status ?? '').trim().toLowerCase() === 'granted';
}

function updatedAtOf(row: LegacyRow): Date {
  const parsed = parseLegacyDatetime(row.updated_at);
  return parsed.kind === 'ok' ? parsed.value : UNDATED;
}

/** 3.1's reject of a losing twin, keyed by its record so each copy keeps its own reject, with its raw row. */
export function duplicateConsentReject(legacyId: string, record: string, row: LegacyRow, source: string | undefined): RejectInput {
  return {
    legacyKey: `${consentLegacyKey(legacyId)}#${record}`,
    reason: 'duplicate_legacy_id',
    detail: DUPLICATE_DETAIL,
    raw: { ...row },
    ...(source ? { source } : {}),
  };
}
