import { compareFields, legacyLifecycleStatus } from './fields';
import { matchSessions } from './match';
import {
  COMPARED_FIELDS,
  type CandidateSide,
  type ComparedField,
  type FieldTally,
  type LegacySide,
  type MismatchSample,
  type PairKind,
  type ParallelRunOptions,
  type ParallelRunReport,
} from './types';

function emptyTally(): FieldTally {
  return { matched: 0, mismatched: 0, ignored: 0, mismatchRate: 0, ignoredBecause: {} };
}

function emptyFields(): Record<ComparedField, FieldTally> {
  return Object.fromEntries(COMPARED_FIELDS.map((f) => [f, emptyTally()])) as Record<ComparedField, FieldTally>;
}

function histogram(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort());
}

/** What a report may say of a legacy status: its lifecycle state, or `unknown` (never legacy's free text). */
const reportedStatus = (raw: string): string => legacyLifecycleStatus(raw) ?? 'unknown';

function finishRates(fields: Record<ComparedField, FieldTally>): void {
  for (const tally of Object.values(fields)) {
    const judged = tally.matched + tally.mismatched;
    tally.mismatchRate = judged === 0 ? 0 : tally.mismatched / judged;
  }
}

/**
 * The parallel-run experiment of plan 2.3, in the manner of GitHub's Scientist and Twitter's Diffy:
 * legacy is the control, the new service the candidate. Each field of each pair is matched, mismatched
 * or ignored (with why). The migrated pairs (the same legacy row through the mapping) give the noise
 * baseline — what normalisation alone produces — and the parallel pairs must not mismatch more than that
 * baseline plus a tolerance. Unmatched sessions on either side beyond `maxUnmatched` are a no-go too.
 */
export function compareParallelRun(
  tenant: string,
  legacy: readonly LegacySide[],
  candidates: readonly CandidateSide[],
  options: ParallelRunOptions,
): ParallelRunReport {
  const { pairs, legacyOnly, candidateOnly } = matchSessions(legacy, candidates);
  const fields: Record<PairKind, Record<ComparedField, FieldTally>> = { migrated: emptyFields(), parallel: emptyFields() };
  const samples: MismatchSample[] = [];
  const sampled: Record<string, number> = {};
  const addSample = (sample: MismatchSample) => {
    const bucket = sample.field;
    if ((sampled[bucket] ?? 0) >= options.maxSamplesPerField) return;
    sampled[bucket] = (sampled[bucket] ?? 0) + 1;
    samples.push(sample);
  };

  for (const pair of pairs) {
    const outcomes = compareFields(pair, options);
    for (const field of COMPARED_FIELDS) {
      const o = outcomes[field];
      const tally = fields[pair.kind][field];
      tally[o.outcome] += 1;
      if (o.ignoredBecause) tally.ignoredBecause[o.ignoredBecause] = (tally.ignoredBecause[o.ignoredBecause] ?? 0) + 1;
      if (o.outcome === 'mismatched') {
        addSample({ field, kind: pair.kind, legacyId: pair.legacy.legacyId, sessionId: pair.candidate.id, legacy: o.legacy, candidate: o.candidate });
      }
    }
  }
  for (const l of legacyOnly)
    addSample({ field: 'unmatched', kind: 'legacy_only', legacyId: l.legacyId, sessionId: null, legacy: reportedStatus(l.status), candidate: null });
  for (const c of candidateOnly)
    addSample({ field: 'unmatched', kind: 'candidate_only', legacyId: c.legacyId, sessionId: c.id, legacy: null, candidate: c.status });
  finishRates(fields.migrated);
  finishRates(fields.parallel);

  const noiseBaseline = Object.fromEntries(COMPARED_FIELDS.map((f) => [f, fields.migrated[f].mismatchRate])) as Record<ComparedField, number>;
  const parallelPairs = pairs.filter((p) => p.kind === 'parallel').length;
  const reasons = decide(fields.parallel, noiseBaseline, { unmatched: legacyOnly.length + candidateOnly.length, parallelPairs }, options);
  return {
    tenant,
    window: { from: options.window.from.toISOString(), to: options.window.to.toISOString() },
    counts: {
      legacy: legacy.length,
      candidate: candidates.length,
      pairs: { migrated: pairs.filter((p) => p.kind === 'migrated').length, parallel: pairs.filter((p) => p.kind === 'parallel').length },
      legacyOnly: legacyOnly.length,
      candidateOnly: candidateOnly.length,
      byStatus: { legacy: histogram(legacy.map((l) => reportedStatus(l.status))), candidate: histogram(candidates.map((c) => c.status)) },
    },
    fields,
    noiseBaseline,
    samples,
    decision: reasons.length === 0 ? 'go' : 'no_go',
    reasons,
  };
}

/** Why the run is a no-go (empty: go). Each reason is a code with numbers, fit for a report. */
function decide(
  parallel: Record<ComparedField, FieldTally>,
  baseline: Record<ComparedField, number>,
  counts: { unmatched: number; parallelPairs: number },
  options: ParallelRunOptions,
): string[] {
  const reasons: string[] = [];
  const { unmatched, parallelPairs } = counts;
  if (parallelPairs < options.minParallelPairs) reasons.push(`too_few_parallel_sessions: ${parallelPairs} < ${options.minParallelPairs}`);
  if (unmatched > options.maxUnmatched) reasons.push(`unmatched_sessions: ${unmatched} > ${options.maxUnmatched}`);
  for (const field of COMPARED_FIELDS) {
    const rate = parallel[field].mismatchRate;
    const limit = baseline[field] + options.mismatchTolerance;
    if (rate > limit)
      reasons.push(`${field}_mismatch_rate: ${rate.toFixed(4)} > baseline ${baseline[field].toFixed(4)} + tolerance ${options.mismatchTolerance}`);
  }
  return reasons;
}
