import { describe, expect, it } from 'vitest';
import { copyChunks, copyLine, copyValue, decodeRows, encodeRows, isCopyRows, ROWS_PER_CHUNK } from './copy-text';

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
    expect([
      ...copyChunks(
        encodeRows([
          ['a', null],
          ['b', 1],
        ]),
      ),
    ]).toEqual(['a\t\\N\nb\t1\n']);
  });

  it('encodes rows as COPY lines, sends them in chunks, and decodes them back as text, NULL as null', () => {
    const rows = Array.from({ length: ROWS_PER_CHUNK * 2 + 3 }, (_, i) => [
      `id-${i}`,
      i % 7 === 0 ? null : 'a\tb\nc\rd\\e \\N ü — 🙂',
      i,
      new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      { role: 'x\ty', i },
      i % 2 === 0,
      '',
      '\\N',
    ]);
    const encoded = encodeRows(rows);
    expect(isCopyRows(encoded)).toBe(true);
    expect(isCopyRows(rows)).toBe(false);
    expect(encoded.lines).toHaveLength(rows.length);
    const chunks = [...copyChunks(encoded)];
    expect(chunks).toHaveLength(3);
    expect(chunks.join('')).toBe(rows.map((row) => `${copyLine(row)}\n`).join(''));
    expect(decodeRows(encoded)).toEqual(
      rows.map((row) =>
        row.map((v) =>
          v === null
            ? null
            : v instanceof Date
              ? v.toISOString()
              : typeof v === 'object'
                ? JSON.stringify(v)
                : typeof v === 'boolean'
                  ? v
                    ? 't'
                    : 'f'
                  : String(v),
        ),
      ),
    );
  });

  it('encodes no rows as no lines and sends nothing', () => {
    expect(encodeRows([])).toEqual({ kind: 'copy-rows', lines: [] });
    expect([...copyChunks(encodeRows([]))]).toEqual([]);
    expect(decodeRows(encodeRows([]))).toEqual([]);
  });
});
