import { COMPARED_FIELDS, type ParallelRunReport } from '@vc/domain/parallel-run';
import { markdownCell as cell } from './markdown-cell';
import { assertNoPhi } from './phi-guard';

/** The S2 parallel-run experiment for a reviewer: decision and reasons, per-field tallies against the noise baseline, samples. */
export function renderParallelRunMarkdown(report: ParallelRunReport): string {
  assertNoPhi(report);
  const c = report.counts;
  const lines = [
    `# Parallel run ${cell(report.tenant)}: ${report.decision === 'go' ? 'GO' : 'NO-GO'}`,
    '',
    `Window ${report.window.from} → ${report.window.to}. Legacy ${c.legacy}, new ${c.candidate}; pairs: ${c.pairs.migrated} migrated, ${c.pairs.parallel} parallel; unmatched: ${c.legacyOnly} legacy-only, ${c.candidateOnly} new-only.`,
    '',
    ...(report.reasons.length > 0 ? ['Reasons:', ...report.reasons.map((r) => `- ${r}`), ''] : []),
    '| field | parallel matched | mismatched | ignored | ignored because | mismatch rate | noise baseline |',
    '|---|---|---|---|---|---|---|',
    ...COMPARED_FIELDS.map((f) => {
      const t = report.fields.parallel[f];
      // Why a field was not judged (`suppressed_in_shadow`, `pre_fhir_era`, …) is part of the verdict: a reviewer sees it here.
      const because = Object.entries(t.ignoredBecause)
        .map(([why, n]) => `${why} ${n}`)
        .join(', ');
      return `| ${f} | ${t.matched} | ${t.mismatched} | ${t.ignored} | ${cell(because)} | ${t.mismatchRate.toFixed(4)} | ${report.noiseBaseline[f].toFixed(4)} |`;
    }),
    '',
    '| sample field | kind | legacy id | session id | legacy | new |',
    '|---|---|---|---|---|---|',
    // Legacy ids are text in a CSV export and sample values come from legacy rows: each is escaped as a cell.
    ...report.samples.map((s) => `| ${s.field} | ${s.kind} | ${cell(s.legacyId ?? '')} | ${cell(s.sessionId ?? '')} | ${cell(String(s.legacy))} | ${cell(String(s.candidate))} |`),
    '',
  ];
  return lines.join('\n');
}
