import { describe, expect, it } from 'vitest';
import { parsePgloaderSummary } from './pgloader';
import { rssFlat, s1Markdown, withS1Section, type S1Results } from './report';

const quiet = { mean: 0.8, max: 1.1, samples: 5 };
const loaded = { mean: 3.2, max: 4, samples: 5 };

const RESULTS: S1Results = {
  command: 'pnpm --filter @vc/bench s1',
  startedAt: '2026-11-27T00:00:00.000Z',
  machine: '2 × cpu',
  sizes: { small: { sessions: 100, auditRows: 400 }, large: { sessions: 1000, auditRows: 4000 } },
  generate: { seconds: 1, rowsPerSecond: 5500 },
  migrator: {
    small: { seconds: 1, rows: 500, rowsPerSecond: 500, peakRssMiB: 150, byStep: {}, countMismatches: 0, load: quiet },
    large: { seconds: 2, rows: 5000, rowsPerSecond: 2500, peakRssMiB: 160, byStep: { '1.1': 1000, '1.4': 800 }, countMismatches: 0, load: quiet },
  },
  rawCopy: { seconds: 1, rows: 5000, rowsPerSecond: 5000, load: quiet },
  pgloader: { seconds: 4, rows: 5000, rowsPerSecond: 1250, load: quiet },
  loadAverages: { 'migrator s1 on large': quiet },
};

describe('the s1 results section', () => {
  it('states the ratios against pgloader and raw COPY and the peak RSS at both sizes', () => {
    const md = s1Markdown(RESULTS);
    expect(md).toContain('| migrator `phase s1 --all-tenants` | 2.0 s | 2,500 | 2.00× | 0.50× | 0.80 (max 1.10) |');
    expect(md).toContain('the ratios count.');
    expect(md).toContain('Peak RSS flat: +6.7% from the small to the large set (flat = within 10%).');
    expect(md).toContain('| 100 | 400 | 1.0 s | 500 | 150 MiB |');
    expect(md).toContain('| 1,000 | 4,000 | 2.0 s | 2,500 | 160 MiB |');
    expect(md).toContain(
      'Migrator batch size: 10,000 legacy rows per transaction. Time per step, summed over tenants (s1 runs two tenants at a time, so the sum exceeds the wall time): 1.1 1.0 s, 1.4 0.8 s.',
    );
    expect(md).toContain('during each phase; mean, max): migrator s1 on large 0.80, 1.10.');
    expect(md).toContain('per tenant): all agree at both sizes.');
    expect(s1Markdown({ ...RESULTS, migrator: { ...RESULTS.migrator, large: { ...RESULTS.migrator.large, countMismatches: 2 } } })).toContain(
      "per tenant): 0 disagreement(s) at 100 sessions, 2 at 1,000 (listed in the bench's log).",
    );
  });

  it('flags a tool run on a loaded machine and memory that grows with the data', () => {
    const md = s1Markdown({
      ...RESULTS,
      pgloader: { ...RESULTS.pgloader, load: loaded },
      migrator: { ...RESULTS.migrator, large: { ...RESULTS.migrator.large, peakRssMiB: 200 } },
    });
    expect(md).toContain('| pgloader (Debian) | 4.0 s | 1,250 | 1.00× | 0.25× | 3.20 (max 4.00) ⚠ |');
    expect(md).toContain('**Noisy run**');
    expect(md).toContain('Peak RSS **not flat**: +33.3% from the small to the large set');
    expect([rssFlat(100, 110), rssFlat(100, 111), rssFlat(100, 91), rssFlat(0, 10)]).toEqual([true, false, true, false]);
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
  it("reads rows, errors and the total import time from pgloader's report", () => {
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
