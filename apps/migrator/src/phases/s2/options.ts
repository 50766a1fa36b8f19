import type { RunOptions } from '../../engine/types';
import { DEFAULT_WINDOW } from './window';

/**
 * Flags only S2 reads. The phase command passes them along with the common {@link RunOptions}; a run
 * without them gets the plan's defaults (a two-week window, reports under `.data/reports`).
 */
export interface S2Options {
  /** `--window`: how far back from as-of the parallel run compares (90m, 36h, 14d, 2w). */
  readonly window?: string;
  /** `--report-dir`: where the parallel-run report (JSON + Markdown) is written. */
  readonly reportDir?: string;
  /** `--min-parallel-pairs`: sessions run by both systems the window must hold for a go (as given). */
  readonly minParallelPairs?: string;
}

export const DEFAULT_REPORT_DIR = '.data/reports';
/** One session run by both systems at least: a go on the migrated copies alone proves only the mapping. */
export const DEFAULT_MIN_PARALLEL_PAIRS = '1';

/** `--min-parallel-pairs`: a whole number, 0 or more; an error names the flag and the form. */
export function parseMinParallelPairs(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new Error(`--min-parallel-pairs expects a whole number, 0 or more, got ${JSON.stringify(value)}`);
  return Number(value.trim());
}

export function s2Options(options: RunOptions): { window: string; reportDir: string; minParallelPairs: number } {
  const extra = options as RunOptions & S2Options;
  return {
    window: extra.window ?? DEFAULT_WINDOW,
    reportDir: extra.reportDir ?? DEFAULT_REPORT_DIR,
    minParallelPairs: parseMinParallelPairs(extra.minParallelPairs ?? DEFAULT_MIN_PARALLEL_PAIRS),
  };
}
