import type { PhaseSummary } from '../engine/run-phase';
import { summaryFormat, summaryTable, writeSummaryFile } from '../reports/phase-summary';

/** `--summary FILE`: checked before the run starts, so a wrong extension costs no work (exit 2). */
export function checkSummaryFlag(raw: { summary?: string }): void {
  if (typeof raw.summary === 'string') summaryFormat(raw.summary);
}

/**
 * What every phase run ends with, whatever its status: the step table on stderr (stdout keeps the
 * result: the `--json` object or the short summary) and, with `--summary`, the same table in a file.
 */
export async function reportPhaseEnd(summary: PhaseSummary, raw: { summary?: string }): Promise<void> {
  process.stderr.write(`\n${summaryTable(summary)}`);
  if (typeof raw.summary === 'string') await writeSummaryFile(raw.summary, summary);
}
