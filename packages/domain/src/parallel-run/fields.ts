import type { Pair } from './match';
import type { ComparableStatus, ComparedField, FieldOutcome, ParallelRunOptions } from './types';

const ENDED = new Set(['completed', 'ended', 'finished']);
const CANCELLED = new Set(['cancelled', 'canceled', 'no_show', 'expired', 'failed']);
// A Map, not an object literal: free text such as `constructor` must not find an inherited member.
const OPEN = new Map<string, ComparableStatus>([
  ['scheduled', 'scheduled'],
  ['waiting', 'waiting'],
  ['active', 'in_progress'],
  ['in_progress', 'in_progress'],
]);

/**
 * A legacy status as the lifecycle state it names, `undefined` for a value legacy never defined. The raw
 * text never leaves this module: legacy's status column is free text (a clerk's note, a name), so a report
 * shows this value or `unknown`.
 */
export function legacyLifecycleStatus(rawStatus: string): ComparableStatus | undefined {
  const status = rawStatus.trim().toLowerCase();
  if (ENDED.has(status)) return 'ended';
  if (CANCELLED.has(status)) return 'cancelled';
  return OPEN.get(status);
}

/**
 * The status the new side should show for a legacy status. A migrated copy follows the S1 rule (open
 * legacy states close as ended when started, else cancelled); a parallel session keeps its live state.
 * `undefined` for a status legacy never defined: such a pair cannot be judged on status.
 */
export function expectedStatus(rawStatus: string, startedAt: Date | null, kind: Pair['kind']): ComparableStatus | undefined {
  const status = legacyLifecycleStatus(rawStatus);
  if (kind === 'parallel' || status === 'ended' || status === 'cancelled') return status;
  return startedAt !== null ? 'ended' : 'cancelled';
}

function durationSeconds(startedAt: Date | null, endedAt: Date | null): number | undefined {
  if (startedAt === null || endedAt === null) return undefined;
  // Legacy rows with endedAt before startedAt load clamped to zero (warning ended_before_started).
  return Math.max(0, Math.round((endedAt.getTime() - startedAt.getTime()) / 1000));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a.map((x) => x.trim()))].sort();
  const right = [...new Set(b.map((x) => x.trim()))].sort();
  return left.length === right.length && left.every((x, i) => x === right[i]);
}

const ignored = (because: string, legacy: FieldOutcome['legacy'], candidate: FieldOutcome['candidate']): FieldOutcome => ({
  outcome: 'ignored',
  ignoredBecause: because,
  legacy,
  candidate,
});
const judged = (equal: boolean, legacy: FieldOutcome['legacy'], candidate: FieldOutcome['candidate']): FieldOutcome => ({
  outcome: equal ? 'matched' : 'mismatched',
  legacy,
  candidate,
});

/** Compares one pair field by field. Values returned are redacted by construction: codes, seconds, counts, flags. */
export function compareFields(
  pair: Pair,
  options: Pick<ParallelRunOptions, 'durationToleranceSeconds' | 'fhirEraStart' | 'serviceMode'>,
): Record<ComparedField, FieldOutcome> {
  const { legacy, candidate } = pair;
  const expected = expectedStatus(legacy.status, legacy.startedAt, pair.kind);
  const status =
    expected === undefined ? ignored('unknown_legacy_status', 'unknown', candidate.status) : judged(expected === candidate.status, expected, candidate.status);

  const legacyDuration = durationSeconds(legacy.startedAt, legacy.endedAt);
  const candidateDuration = durationSeconds(candidate.startedAt, candidate.endedAt);
  const duration =
    legacyDuration === undefined || candidateDuration === undefined
      ? ignored('not_ended', legacyDuration ?? null, candidateDuration ?? null)
      : judged(Math.abs(legacyDuration - candidateDuration) <= options.durationToleranceSeconds, legacyDuration, candidateDuration);

  const participants = judged(
    sameSet(legacy.participantRefs, candidate.participantRefs),
    new Set(legacy.participantRefs).size,
    new Set(candidate.participantRefs).size,
  );

  const ended = candidate.status === 'ended';
  const preFhir = options.fhirEraStart !== null && candidate.endedAt !== null && candidate.endedAt.getTime() < options.fhirEraStart.getTime();
  const encounter = !ended
    ? ignored('not_ended', legacy.hasEncounter, candidate.hasEncounter)
    : preFhir
      ? ignored('pre_fhir_era', legacy.hasEncounter, candidate.hasEncounter)
      : candidate.encounterBackfilled === true && !legacy.hasEncounter
        ? ignored('backfilled_by_migrator', legacy.hasEncounter, candidate.hasEncounter)
        : // Shadow mode suppresses the service's Encounters: their absence says nothing of the service (2.4 exempts it too).
          pair.kind === 'parallel' && options.serviceMode === 'shadow' && !candidate.hasEncounter
          ? ignored('suppressed_in_shadow', legacy.hasEncounter, candidate.hasEncounter)
          : judged(legacy.hasEncounter === candidate.hasEncounter, legacy.hasEncounter, candidate.hasEncounter);

  const legacyCodes = [...legacy.billingCodes].sort().join(',');
  const candidateCodes = [...candidate.billingCodes].sort().join(',');
  const billing = !ended
    ? ignored('not_ended', legacyCodes, candidateCodes)
    : judged(sameSet(legacy.billingCodes, candidate.billingCodes), legacyCodes, candidateCodes);

  return { status, duration, participants, encounter, billing };
}
