import { describe, expect, it } from 'vitest';
import { parsePgloaderSummary } from './pgloader';
import { s1Markdown, withS1Section, type S1Results } from './report';

const RESULTS: S1Results = {
  command: 'pnpm --filter @vc/bench s1',
  startedAt: '2026-11-27T00:00:00.000Z',
  machine: '2 × cpu',
  sizes: { small: { sessions: 100, auditRows: 400 }, large: { sessions: 1000, auditRows: 4000 } },
  generate: { seconds: 1, rowsPerSecond: 5500 },
  migrator: {
    small: { seconds: 1, rows: 500, rowsPerSecond: 500, peakRssMiB: 150, byStep: {}, countMismatches: 0 },
    large: { seconds: 2, rows: 5000, rowsPerSecond: 2500, peakRssMiB: 160, byStep: { '1.1': 1000, '1.4': 800 }, countMismatches: 0 },
  },
  rawCopy: { seconds: 1, rows: 5000, rowsPerSecond: 5000 },
  pgloader: { seconds: 4, rows: 5000, rowsPerSecond: 1250 },
  loadAverages: { 'migrator s1 on large': 1.5 },
};

describe('the s1 results section', () => {
  it('states the ratios against pgloader and raw COPY and the peak RSS at both sizes', () => {
    const md = s1Markdown(RESULTS);
    expect(md).toContain('| migrator `phase s1 --all-tenants` | 2.0 s | 2,500 | 2.00× | 0.50× |');
    expect(md).toContain('| 100 | 400 | 1.0 s | 500 | 150 MiB |');
    expect(md).toContain('| 1,000 | 4,000 | 2.0 s | 2,500 | 160 MiB |');
    expect(md).toContain('Migrator batch size: 10,000 legacy rows per transaction. Time per step, summed over tenants (s1 runs two tenants at a time, so the sum exceeds the wall time): 1.1 1.0 s, 1.4 0.8 s.');
    expect(md).toContain('at the end of each phase: migrator s1 on large 1.5.');
    expect(md).toContain('per tenant): all agree at both sizes.');
    expect(s1Markdown({ ...RESULTS, migrator: { ...RESULTS.migrator, large: { ...RESULTS.migrator.large, countMismatches: 2 } } }))
      .toContain('per tenant): 0 disagreement(s) at 100 sessions, 2 at 1,000 (listed in the bench\'s log).');
  });

  it('replaces only its own section and keeps the others', () => {
    const before = '# Benchmark results\n\n<!-- s1:start -->\nold\n<!-- s1:end -->\n\n## service\nkeep me\n';
    const after = withS1Section(before, '<!-- s1:start -->\nnew\n<!-- s1:end -->');
    expect(after).toBe('# Benchmark results\n\n<!-- s1:start -->\nnew\n<!-- s1:end -->\n\n## service\nkeep me\n');
    expect(withS1Section('', 'S')).toBe('# Benchmark results\n\nS\n');
    expect(withS1Section('## service\nkeep me', 'S')).toBe('## service\nkeep me\n\nS\n');
  });
});

describe('parsePgloaderSummary', () => {
  it('reads rows, errors and the total import time from pgloader\'s report', () => {
    const output = [
      '             table name     errors       rows      bytes      total time',
      '-----------------------  ---------  ---------  ---------  --------------',
      '       dc_large.auditlog          2     422816    65.8 MB         25.216s',
      ' dc_large.virtualsession          0     100000    23.8 MB         12.648s',
      '-----------------------  ---------  ---------  ---------  --------------',
      '      Total import time          ✓     522816    89.6 MB         25.236s',
    ].join('\n');
    expect(parsePgloaderSummary(output)).toEqual({ rows: 522816, errors: 2, reportedSeconds: 25.236 });
  });

  it('fails clearly when pgloader printed no summary', () => {
    expect(() => parsePgloaderSummary('FATAL something')).toThrow('pgloader: no "Total import time" line in its output');
  });
});
