import { describe, expect, it } from 'vitest';
import { isoString } from './iso-time';

const at = (ms: number) => new Date(ms);

describe('isoString', () => {
  it('writes what toISOString writes at the edges of days, months, leap years, centuries and the four-digit years', () => {
    const edges = [
      0,
      -1,
      1,
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12),
      Date.UTC(1900, 1, 28, 23, 59, 59, 999),
      Date.UTC(1900, 2, 1),
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(2100, 2, 1),
      new Date('0000-01-01T00:00:00.000Z').getTime(),
      new Date('0000-01-01T00:00:00.000Z').getTime() - 1,
      new Date('9999-12-31T23:59:59.999Z').getTime(),
      new Date('9999-12-31T23:59:59.999Z').getTime() + 1,
      8.64e15,
      -8.64e15,
    ];
    for (const ms of edges) expect(isoString(at(ms))).toBe(at(ms).toISOString());
  });

  it('writes what toISOString writes for random instants from year 0 to 9999, the same day twice in a row included', () => {
    const lo = new Date('0000-01-01T00:00:00.000Z').getTime();
    const hi = new Date('9999-12-31T23:59:59.999Z').getTime();
    let seed = 20261207;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(lo + next() * (hi - lo));
      expect(isoString(at(ms))).toBe(at(ms).toISOString());
      const sameDay = ms + Math.floor(next() * 3_600_000);
      expect(isoString(at(sameDay))).toBe(at(sameDay).toISOString());
    }
  });

  it('throws for an invalid Date as toISOString does', () => {
    expect(() => isoString(new Date(Number.NaN))).toThrow(RangeError);
  });
});
