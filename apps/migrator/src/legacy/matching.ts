import { normalise, TRIMMED_CODE_POINTS } from '@vc/domain/legacy';

/**
 * How a reader matches legacy values, both sources alike (see `ReadOptions.where` and `ReadOptions.tenantId`).
 * The domain rule compares trimmed and case-insensitively (`normalise`); legacy's own collation
 * (utf8mb4_unicode_ci, PAD SPACE) compares case-insensitively with trailing spaces ignored but leading ones
 * kept. A filter must hand the parser every row the domain rule accepts, so MariaDB's `in` alone is not enough.
 */

/**
 * A value as legacy's collation equates it, as near as JavaScript can: lower-cased, trailing spaces cut (the
 * collation also equates accented letters, which this does not). What a CSV export compares tenants and
 * `collated` filters by.
 */
export function collationKey(value: string | null | undefined): string {
  return tenantSpelling(value ?? '').toLowerCase();
}

/**
 * A tenant's id as a listing gives it: as a row spells it, trailing spaces cut (no legacy query tells them apart, and
 * a run writes its rows under this id).
 */
export function tenantSpelling(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x20) end -= 1;
  return value.slice(0, end);
}

/** Whether `value` meets a filter of `values` as the domain compares (`normalise`). */
export function domainMatcher(values: readonly string[]): (value: string | null | undefined) => boolean {
  const wanted = new Set(values.map(normalise));
  return (value) => wanted.has(normalise(value));
}

/** Whether `value` meets a filter of `values` as legacy's collation compares (see `collationKey`). */
export function collationMatcher(values: readonly string[]): (value: string | null | undefined) => boolean {
  const wanted = new Set(values.map(collationKey));
  return (value) => wanted.has(collationKey(value));
}

const hex = (cp: number) => `\\x{${cp.toString(16)}}`;
const TRIMMED_CLASS = `[${TRIMMED_CODE_POINTS.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('')}]`;

/**
 * PCRE patterns (MariaDB REGEXP, UTF-8 mode on utf8mb4 columns) for what `normalise` trims: a value that starts
 * or ends with such a character, and the runs to cut. `\z`, not `$`: PCRE's `$` also matches before a final newline.
 */
export const TRIMMED_EDGE_PATTERN = `^${TRIMMED_CLASS}|${TRIMMED_CLASS}\\z`;
export const TRIMMED_RUNS_PATTERN = `^${TRIMMED_CLASS}+|${TRIMMED_CLASS}+\\z`;
