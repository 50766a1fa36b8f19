import { describe, expect, it } from 'vitest';
import { parseLegacyDatetime, type LegacyDatetime } from './datetime';

/** The parser as it was before its fast path for `YYYY-MM-DD HH:MM:SS`: the fast path must agree with it. */
function referenceParse(raw: string | null | undefined): LegacyDatetime {
  if (raw === null || raw === undefined) return { kind: 'null' };
  const text = raw.trim();
  if (text === '' || text === '\\N') return { kind: 'null' };
  if (/^0000-00-00(?:[ T]00:00:00(?:\.0+)?)?$/.test(text)) return { kind: 'null' };
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?Z?$/.exec(text);
  if (!m) return { kind: 'invalid', raw };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const value = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  const same =
    value.getUTCFullYear() === year &&
    value.getUTCMonth() === month - 1 &&
    value.getUTCDate() === day &&
    value.getUTCHours() === hour &&
    value.getUTCMinutes() === minute &&
    value.getUTCSeconds() === second;
  return !same || year === 0 ? { kind: 'invalid', raw } : { kind: 'ok', value };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Every field at its edges (0, 1, last valid, first invalid), both separators, and mangled characters. */
function cases(): string[] {
  const out: string[] = [];
  for (const year of [0, 1, 99, 100, 1900, 1970, 2000, 2024, 2025, 2100, 9999])
    for (const month of [0, 1, 2, 12, 13])
      for (const day of [0, 1, 28, 29, 30, 31, 32])
        for (const [hour, minute, second] of [
          [0, 0, 0],
          [23, 59, 59],
          [24, 0, 0],
          [0, 60, 0],
          [0, 0, 60],
          [12, 34, 56],
        ] as const)
          for (const sep of [' ', 'T']) out.push(`${pad(year, 4)}-${pad(month)}-${pad(day)}${sep}${pad(hour)}:${pad(minute)}:${pad(second)}`);
  const base = '2025-06-01 10:20:30';
  for (let i = 0; i < base.length; i++) for (const c of ['x', '-', ':', ' ', '/', '9']) out.push(`${base.slice(0, i)}${c}${base.slice(i + 1)}`);
  for (const frac of ['.', '.5', '.465', '.999', '.0005', '.999999', '.1234567', '.12a', '.000', '.0001'])
    for (const at of [base, '0000-00-00 00:00:00', '2024-02-29 23:59:59', '2024-02-30 23:59:59']) out.push(`${at}${frac}`);
  out.push('0000-00-00 00:00:00', '0000-00-00T00:00:00', '0000-00-00 00:00:01', ` ${base} `, `${base}Z`, `${base}.5`, '2025-06-01', '\\N', '');
  return out;
}

describe('parseLegacyDatetime fast path', () => {
  it('agrees with the pattern-based parser on every edge of every field', () => {
    const all = cases();
    expect(all.map(parseLegacyDatetime)).toEqual(all.map(referenceParse));
  });

  it('reads `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` and milliseconds as UTC', () => {
    expect([parseLegacyDatetime('2024-02-29 23:59:59'), parseLegacyDatetime('2024-02-29T23:59:59'), parseLegacyDatetime('2024-02-29 23:59:59.465')]).toEqual([
      { kind: 'ok', value: new Date('2024-02-29T23:59:59Z') },
      { kind: 'ok', value: new Date('2024-02-29T23:59:59Z') },
      { kind: 'ok', value: new Date('2024-02-29T23:59:59.465Z') },
    ]);
  });
});
