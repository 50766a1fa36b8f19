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
}

export const DEFAULT_REPORT_DIR = '.data/reports';

export function s2Options(options: RunOptions): Required<S2Options> {
  const extra = options as RunOptions & S2Options;
  return { window: extra.window ?? DEFAULT_WINDOW, reportDir: extra.reportDir ?? DEFAULT_REPORT_DIR };
}
