import { describe, expect, it } from 'vitest';
import { normalise, TRIMMED_CODE_POINTS } from './text';

describe('TRIMMED_CODE_POINTS', () => {
  it('is exactly what normalise trims, over all of Unicode', () => {
    const listed = (cp: number) => TRIMMED_CODE_POINTS.some(([lo, hi]) => cp >= lo && cp <= hi);
    const differing: number[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp += 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const trimmed = normalise(`${String.fromCodePoint(cp)}x`) === 'x';
      if (trimmed !== listed(cp)) differing.push(cp);
    }
    expect(differing).toEqual([]);
  });
});
