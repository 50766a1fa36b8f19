/**
 * Legacy datetimes: `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, as MySQL prints them and the CSV export carries
 * them (docs/design.md §4). The MySQL zero date and `\N` mean NULL.
 */
export type LegacyDatetime = { kind: 'null' } | { kind: 'ok'; value: Date } | { kind: 'invalid'; raw: string };

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?Z?$/;
const ZERO_DATE = /^0000-00-00(?:[ T]00:00:00(?:\.0+)?)?$/;
const NULL: LegacyDatetime = Object.freeze({ kind: 'null' });

/** The calendar check shared by both parsers: 2024-02-30 is invalid, not March 1st; year 0 is invalid. */
function checked(raw: string, year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number): LegacyDatetime {
  const value = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  const sameFields =
    value.getUTCFullYear() === year &&
    value.getUTCMonth() === month - 1 &&
    value.getUTCDate() === day &&
    value.getUTCHours() === hour &&
    value.getUTCMinutes() === minute &&
    value.getUTCSeconds() === second;
  if (!sameFields || year === 0) return { kind: 'invalid', raw };
  return { kind: 'ok', value };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const isLeap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/**
 * {@link checked} by arithmetic, for the fast path's fields (a four-digit year, two-digit others, millis < 1000):
 * valid exactly when the Date would keep every field — Date.UTC reads years 0–99 as 1900–1999, so those are
 * invalid — and without the six UTC getters per value that made the check a large share of mapping.
 */
function checkedFields(raw: string, year: number, month: number, day: number, hour: number, minute: number, second: number, millis: number): LegacyDatetime {
  const valid =
    year >= 100 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59;
  return valid ? { kind: 'ok', value: new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis)) } : { kind: 'invalid', raw };
}

const digit = (text: string, i: number) => text.charCodeAt(i) - 48;
const isDigit = (text: string, i: number) => (text.charCodeAt(i) - 48) >>> 0 < 10;
const twoDigits = (text: string, i: number) => digit(text, i) * 10 + digit(text, i + 1);
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] as const;

/** Milliseconds of the `.f…` (1–6 digits) after a time, computed as the pattern parser does; undefined if malformed. */
function fractionMillis(text: string): number | undefined {
  if (text.length === 19) return 0;
  if (text.length < 21 || text.length > 26 || text.charCodeAt(19) !== 46) return undefined;
  for (let i = 20; i < text.length; i++) if (!isDigit(text, i)) return undefined;
  // `Number('.465')` is the same double as the pattern parser's `Number('0.465')`.
  return Math.floor(Number(text.slice(19)) * 1000);
}

/**
 * `YYYY-MM-DD HH:MM:SS[.f…]` (what nearly every legacy row holds), read without a regular expression;
 * undefined for every other form, which the pattern then handles.
 */
function parseCommonForm(raw: string, text: string): LegacyDatetime | undefined {
  if (text.length < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const sep = text.charCodeAt(10);
  if (sep !== 32 && sep !== 84) return undefined;
  for (const i of DIGIT_POSITIONS) if (!isDigit(text, i)) return undefined;
  const millis = fractionMillis(text);
  if (millis === undefined) return undefined;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  // MySQL's zero date with a zero time (and zero fraction) stands for "no value".
  if (year === 0 && month === 0 && day === 0 && hour === 0 && minute === 0 && second === 0 && millis === 0 && !/[1-9]/.test(text.slice(19))) return NULL;
  return checkedFields(raw, year, month, day, hour, minute, second, millis);
}

/** Parses one legacy datetime; calendar-checks it (2024-02-30 is invalid, not March 1st). */
export function parseLegacyDatetime(raw: string | null | undefined): LegacyDatetime {
  if (raw === null || raw === undefined) return NULL;
  const text = raw.trim();
  if (text === '' || text === '\\N') return NULL;
  const common = parseCommonForm(raw, text);
  if (common) return common;
  // MySQL's zero date (and zero-date variants with a zero time) stands for "no value" in legacy rows.
  if (ZERO_DATE.test(text)) return NULL;
  const m = PATTERN.exec(text);
  if (!m) return { kind: 'invalid', raw };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
  const millis = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  return checked(raw, year, month, day, hour, minute, second, millis);
}

/**
 * Days since 1970-01-01 as a proleptic Gregorian civil date [year, month 1–12, day 1–31] (H. Hinnant's
 * `civil_from_days`): for formatting timestamps without a Date, where `Date#toISOString` is the hot spot.
 */
export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
