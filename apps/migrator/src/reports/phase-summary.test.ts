import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PhaseSummary } from '../engine/run-phase';
import { renderSummary, summaryFormat, summaryTable, writeSummaryFile } from './phase-summary';

const step = (id: string, read: number, written: number, durationMs: number, over: Partial<PhaseSummary['steps'][number]> = {}): PhaseSummary['steps'][number] => ({
  id,
  tenant: 'acme',
  status: 'done',
  read,
  written,
  rejected: 0,
  deferred: 0,
  warnings: 0,
  durationMs,
  facts: {},
  ...over,
});

const summary: PhaseSummary = {
  phase: 's1',
  tenant: 'acme',
  status: 'done',
  dryRun: true,
  asOf: '2026-11-01T00:00:00.000Z',
  steps: [step('1.1', 1000, 990, 2000, { rejected: 3, deferred: 7, warnings: 12 }), step('1.2', 990, 0, 0)],
  rejects: { missing_patient: 3 },
  warnings: { inferred_end: 12 },
};

describe('the end-of-phase table', () => {
  it('--summary into a folder that does not exist yet (the runbooks\' reports/…) creates it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vc-summary-'));
    try {
      const file = join(root, 'reports', 'rehearsal', 's1-acme.md');
      await writeSummaryFile(file, summary);
      expect(await readFile(file, 'utf8')).toBe(renderSummary(summary, 'md'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('aligns names left and numbers right, with a total row (rate = rows read per second of step time)', () => {
    expect(summaryTable(summary)).toBe(
      [
        'phase s1 (dry run: nothing written), as of 2026-11-01T00:00:00.000Z: done',
        'tenant  step  status  read  written  rejected  warnings  deferred    time   rate',
        '------  ----  ------  ----  -------  --------  --------  --------  ------  -----',
        'acme    1.1   done    1000      990         3        12         7  2.000s  500/s',
        'acme    1.2   done     990        0         0         0         0  0.000s    0/s',
        '------  ----  ------  ----  -------  --------  --------  --------  ------  -----',
        'total         done    1990      990         3        12         7  2.000s  995/s',
        '',
      ].join('\n'),
    );
  });

  it('as CSV: one line per step and the total', () => {
    expect(renderSummary(summary, 'csv')).toBe('tenant,step,status,read,written,rejected,warnings,deferred,seconds,rate\nacme,1.1,done,1000,990,3,12,7,2,500\nacme,1.2,done,990,0,0,0,0,0,0\ntotal,,done,1990,990,3,12,7,2,995\n');
  });

  it('as Markdown: the table, then rejects and warnings by code', () => {
    const md = renderSummary(summary, 'md');
    expect(md).toContain('| acme | 1.1 | done | 1000 | 990 | 3 | 12 | 7 | 2.000s | 500/s |');
    expect(md).toContain('Rejects: missing_patient 3');
    expect(md).toContain('Warnings: inferred_end 12');
  });

  it.each([
    ['out/s1.md', 'md'],
    ['S1.JSON', 'json'],
    ['s1.csv', 'csv'],
  ])('%s is written as %s', (path, format) => expect(summaryFormat(path)).toBe(format));

  it.each(['s1.txt', 's1', 's1.md.bak'])('%s is a usage error (exit 2) naming the extensions taken', (path) => {
    expect(() => summaryFormat(path)).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining('must end in .md, .json or .csv') }));
  });
});
