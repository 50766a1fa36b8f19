/**
 * Legacy datetimes: `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, as MySQL prints them and the CSV export carries
 * them (DESIGN §4). The MySQL zero date and `\N` mean NULL.
 */
export type LegacyDatetime = { kind: 'null' } | { kind: 'ok'; value: Date } | { kind: 'invalid'; raw: string };

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?Z?$/;

/** Parses one legacy datetime; calendar-checks it (2024-02-30 is invalid, not March 1st). */
export function parseLegacyDatetime(raw: string | null | undefined): LegacyDatetime {
  if (raw === null || raw === undefined) return { kind: 'null' };
  const text = raw.trim();
  if (text === '' || text === '\\N') return { kind: 'null' };
  // MySQL's zero date (and zero-date variants with a zero time) stands for "no value" in legacy rows.
  if (/^0000-00-00(?:[ T]00:00:00(?:\.0+)?)?$/.test(text)) return { kind: 'null' };
  const m = PATTERN.exec(text);
  if (!m) return { kind: 'invalid', raw };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const value = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  const sameFields =
    value.getUTCFullYear() === year && value.getUTCMonth() === month - 1 && value.getUTCDate() === day && value.getUTCHours() === hour && value.getUTCMinutes() === minute && value.getUTCSeconds() === second;
  if (!sameFields || year === 0) return { kind: 'invalid', raw };
  return { kind: 'ok', value };
}
