import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareParallelRun, type ParallelRunReport } from '@vc/domain/parallel-run';
import type { Step } from '../../engine/types';
import { renderJson, renderParallelRunMarkdown } from '../../reports/index';
import { readLegacyWindow } from './legacy-window';
import { s2Options } from './options';
import { rejectedSessionIds } from './rejected-ids';
import { readCandidateWindow } from './target-window';
import { loadTenantConfig } from './tenant-config';
import { windowEnding } from './window';

/** Thresholds of the go/no-go, chosen for a two-week run: exact on counts, a minute of clock skew on durations. */
export const PARALLEL_RUN_THRESHOLDS = { durationToleranceSeconds: 60, mismatchTolerance: 0, maxUnmatched: 0, maxSamplesPerField: 5 } as const;

async function writeReport(dir: string, report: ParallelRunReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `s2-parallel-run-${report.tenant}`);
  await writeFile(`${base}.json`, renderJson(report), 'utf8');
  await writeFile(`${base}.md`, renderParallelRunMarkdown(report), 'utf8');
  return base;
}

/**
 * Plan 2.3: legacy and the new service side by side over the window. Sessions pair by shared id, else by
 * tenant + patient + practitioner + scheduled start; counts, statuses, durations, participants,
 * encounters and billing are compared; the report (matched/mismatched/ignored per field, noise baseline,
 * redacted samples, go/no-go) goes to `--report-dir` and into the step's facts. A no-go fails the step.
 */
export const parallelRunStep: Step = {
  id: '2.3',
  title: 'Parallel run: compare legacy and new sessions over the window',
  async run(ctx, checkpoint) {
    const { window: windowText, reportDir, minParallelPairs } = s2Options(ctx.options);
    const window = windowEnding(ctx.options.asOf, windowText);
    const excluded = await rejectedSessionIds(ctx.db.db, ctx.tenantId);
    const legacy = await readLegacyWindow(await ctx.services.legacy(), ctx.tenantId, window, {
      batchSize: ctx.options.batchSize,
      excluded,
      signal: ctx.signal,
    });
    const candidates = await readCandidateWindow(
      ctx.db.db,
      ctx.tenantId,
      window,
      legacy.map((l) => l.legacyId),
    );
    const config = await loadTenantConfig(ctx.db.db, ctx.tenantId);
    const report = compareParallelRun(ctx.tenantId, legacy, candidates, {
      window,
      fhirEraStart: config?.fhirEraStart ?? null,
      // As 2.4 reads it: unset is shadow, the mode the service runs in until the cutover.
      serviceMode: ctx.config.VC_MODE ?? 'shadow',
      minParallelPairs,
      ...PARALLEL_RUN_THRESHOLDS,
    });
    const summary = {
      decision: report.decision,
      reasons: report.reasons,
      counts: report.counts,
      noiseBaseline: report.noiseBaseline,
      excludedRejected: excluded.size,
    };
    const path = ctx.options.dryRun ? undefined : await writeReport(reportDir, report);
    // One commit per run, over the whole window again: after a failed run (a no-go) its count replaces the failed
    // run's instead of adding to it (the engine adds a batch to the checkpoint it resumes).
    await ctx.commit({
      cursor: { window: report.window },
      read: legacy.length + candidates.length - checkpoint.read,
      written: 0,
      facts: { parallelRun: summary, ...(path ? { reportPath: path } : {}) },
    });
    ctx.log.info({ tenant: ctx.tenantId, decision: report.decision, pairs: report.counts.pairs, report: path }, 'parallel run compared');
    if (report.decision === 'no_go')
      throw new Error(`parallel run for tenant ${ctx.tenantId} is a no-go: ${report.reasons.join('; ')}${path ? ` (report ${path}.md)` : ''}`);
  },
};
