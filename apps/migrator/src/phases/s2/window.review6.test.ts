import { describe, expect, it } from 'vitest';
import { parseWindow, windowEnding } from './window';

/**
 * Review 6: `--window` is checked by parseWindow when the command line is read (steps.ts), so a window no
 * date can hold must be refused there, naming the flag (exit 2), not accepted and then fail inside 2.3
 * with `RangeError: Invalid time value` (or PostgreSQL's "timestamp out of range") as a failed step.
 */
describe('--window beyond what a date can hold', () => {
  it.each(['99999999999999d', '9999999999w'])('%s is refused naming --window', (text) => {
    expect(() => parseWindow(text)).toThrow(/--window/);
  });

  it('a window parseWindow accepts gives a usable start', () => {
    const to = new Date('2026-11-01T00:00:00Z');
    for (const text of ['99999999999999d', '9999999999w', '14d']) {
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
