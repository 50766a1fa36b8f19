import { describe, expect, it } from 'vitest';
import type { PhaseSummary } from '../engine/run-phase';
import { summaryTable } from './phase-summary';
import { runbookSuccessLine, successLinePattern } from './testing/runbook-success-line';

/**
 * The runbooks tell the operator what success looks like ("Exit 0, the summary … starts `phase s2, as of …: done`"):
 * each one's line, read from the runbook, must be the title of the table every phase prints on stderr
 * (commands/phase-end.ts prints exactly `summaryTable`). The phases' real output for s0 is checked the same way
 * in commands/status-tenants-and-s0-success-line.int.test.ts.
 */
const CLAIMS = [
  ['runbooks/s0-bootstrap.md', 's0', '*'],
  ['runbooks/s2-jitsi-parallel-run.md', 's2', 'acme'],
  ['runbooks/s3-consents.md', 's3', 'acme'],
  ['runbooks/s4-cutover.md', 's4', 'acme'],
] as const;

describe('the success line each runbook promises is the summary the phase prints', () => {
  it.each(CLAIMS)('%s: the summary starts with the line the runbook quotes (phase %s, tenant %s)', (file, phase, tenant) => {
    const claim = runbookSuccessLine(file);
    expect(claim).toBe(`phase ${phase}, as of …: done`);
    const summary: PhaseSummary = {
      phase,
      tenant,
      status: 'done',
      dryRun: false,
      asOf: '2026-11-01T00:00:00.000Z',
      steps: [],
      rejects: {},
      warnings: {},
    };
    expect(summaryTable(summary).split('\n')[0]).toMatch(successLinePattern(claim));
  });
});
