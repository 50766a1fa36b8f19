import { describe, expect, it } from 'vitest';
import { inWindow, parseWindow, windowEnding } from './window';

describe('parseWindow', () => {
  it.each([
    ['90m', 90 * 60_000],
    ['36h', 36 * 3_600_000],
    ['14d', 14 * 86_400_000],
    ['2W', 2 * 604_800_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseWindow(text)).toBe(ms);
  });
  it.each(['', '14', '0d', '-1d', '1y', '1.5d'])('refuses %j naming the expected form', (text) => {
    expect(() => parseWindow(text)).toThrow('--window expects a positive duration like 90m, 36h, 14d or 2w');
  });
});

describe('windowEnding', () => {
  const to = new Date('2026-05-15T00:00:00.000Z');
  const w = windowEnding(to, '14d');
  it('ends at as-of and starts the window length before it', () => {
    expect(w.from.toISOString()).toBe('2026-05-01T00:00:00.000Z');
  });
  it.each([
    ['the start is inside', '2026-05-01T00:00:00.000Z', true],
    ['the end is outside (half-open)', '2026-05-15T00:00:00.000Z', false],
    ['before the start is outside', '2026-04-30T23:59:59.999Z', false],
  ])('%s', (_name, iso, inside) => {
    expect(inWindow(new Date(iso), w)).toBe(inside);
  });
  it('a session without a start or creation time is outside', () => {
    expect(inWindow(null, w)).toBe(false);
  });
});
