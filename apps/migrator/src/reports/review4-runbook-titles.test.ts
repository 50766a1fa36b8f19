import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PhaseSummary } from '../engine/run-phase';
import { summaryTable } from './phase-summary';

/**
 * Review 4: the runbooks tell the operator what success looks like — "Exit 0, the summary starts
 * `phase s2 acme: done`" (s2, s3, s4; s0: `phase s0 *: done`) — but every phase's summary is titled
 * `phase <p>, as of <instant>: <status>`, without the tenant. A runbook line that prints differently is a defect.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

const CLAIMS = [
  ['runbooks/s0-bootstrap.md', 's0', '*'],
  ['runbooks/s2-jitsi-parallel-run.md', 's2', 'acme'],
  ['runbooks/s3-consents.md', 's3', 'acme'],
  ['runbooks/s4-cutover.md', 's4', 'acme'],
] as const;

describe('the success line each runbook promises is the summary the phase prints', () => {
  it.each(CLAIMS)('%s: the summary starts `phase %s %s: done`', (file, phase, tenant) => {
    const claim = `phase ${phase} ${tenant}: done`;
    expect(readFileSync(`${ROOT}${file}`, 'utf8').replace(/\s+/g, ' ')).toContain(`the summary starts \`${claim}\``);
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
    expect(summaryTable(summary).split('\n')[0]).toMatch(new RegExp(`^${claim.replace(/[*]/g, '\\*')}`));
  });
});
