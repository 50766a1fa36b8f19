import { describe, expect, it } from 'vitest';
import { parseAsOf, parseRunOptions } from './run-options';

const now = new Date('2026-11-26T12:00:00Z');
const defaults = { batchSize: '5000', concurrency: '4', maxRejectRate: '0.01' };

describe('phase flags', () => {
  it('defaults: as-of is the run start, 1% reject rate, no dry run', () => {
    expect(parseRunOptions(defaults, now)).toEqual({ dryRun: false, batchSize: 5000, concurrency: 4, asOf: now, maxRejectRate: 0.01 });
  });

  it('passes phase-specific flags through (s2 --window)', () => {
    expect(parseRunOptions({ ...defaults, window: '14d', dryRun: true, restartStep: '1.4' }, now)).toMatchObject({
      window: '14d',
      dryRun: true,
      restartStep: '1.4',
    });
  });

  it.each([
    [{ batchSize: '0' }, '--batch-size must be a positive integer'],
    [{ concurrency: 'many' }, '--concurrency must be a positive integer'],
    [{ asOf: 'yesterday' }, '--as-of must be an ISO-8601 instant'],
    [{ maxRejectRate: '5' }, '--max-reject-rate must be a fraction between 0 and 1'],
    [{ maxRejectRate: '' }, '--max-reject-rate must be a fraction between 0 and 1'],
    [{ batchSize: '0x10' }, '--batch-size must be a positive integer'],
    [{ asOf: '1' }, '--as-of must be an ISO-8601 instant'],
    [{ asOf: '2026-11-01T00:00:00' }, '--as-of must be an ISO-8601 instant'],
    [{ asOf: '2026-02-29' }, '--as-of must be an ISO-8601 instant'],
  ])('%j is a usage error (exit 2): %s', (flags, message) => {
    expect(() => parseRunOptions({ ...defaults, ...flags }, now)).toThrow(message);
    try {
      parseRunOptions({ ...defaults, ...flags }, now);
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2);
    }
  });
});

describe('--as-of', () => {
  it.each([
    ['2026-11-01T00:00:00Z', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z'],
    ['2026-11-01T01:30+01:00', '2026-11-01T00:30:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
  ])('%s is the instant %s', (text, iso) => {
    expect(parseAsOf(text, now).toISOString()).toBe(iso);
  });

  it('defaults to the run start', () => {
    expect(parseAsOf(undefined, now)).toBe(now);
  });
});
