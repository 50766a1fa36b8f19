import { describe, expect, it } from 'vitest';
import { copyLines, copyValue } from './copy-text';

describe('COPY text encoding', () => {
  it.each([
    [null, '\\N'],
    [undefined, '\\N'],
    ['a\tb\nc\rd\\e', 'a\\tb\\nc\\rd\\\\e'],
    [true, 't'],
    [42, '42'],
    [new Date('2026-01-02T03:04:05.678Z'), '2026-01-02T03:04:05.678Z'],
    [{ role: 'x\ty' }, '{"role":"x\\\\ty"}'],
    ['\\N', '\\\\N'],
  ] as const)('%j is written as %j', (value, text) => {
    expect(copyValue(value)).toBe(text);
  });

  it('writes one tab-separated line per row', () => {
    expect(
      copyLines([
        ['a', null],
        ['b', 1],
      ]),
    ).toBe('a\t\\N\nb\t1\n');
  });
});
