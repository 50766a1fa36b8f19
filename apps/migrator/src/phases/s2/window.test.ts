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
  it('takes ten years (3650d)', () => {
    expect(parseWindow('3650d')).toBe(3650 * 86_400_000);
  });
  // Refused when the command line is read (exit 2 naming --window), not failing inside 2.3 with `Invalid time value`.
  it.each(['3651d', '99999999999999d', '9999999999w'])('refuses %s beyond ten years, naming --window', (text) => {
    expect(() => parseWindow(text)).toThrow(`--window must be at most 3650d (ten years), got "${text}"`);
  });
  it('every window it accepts gives a usable start', () => {
    const to = new Date('2026-11-01T00:00:00Z');
    for (const text of ['99999999999999d', '9999999999w', '3650d', '14d']) {
      let accepted = true;
      try {
        parseWindow(text);
      } catch {
        accepted = false;
      }
      if (accepted) expect(() => windowEnding(to, text).from.toISOString(), text).not.toThrow();
    }
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
