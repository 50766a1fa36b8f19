/**
 * The one guard every mapper runs on the legacy text it is about to write (sessions, participants,
 * tenant configs, consents; S1 and S4 alike), so one odd legacy row becomes one reject instead of a
 * failed batch. Limits come from the target schema:
 *
 * - PostgreSQL `text` cannot hold U+0000, and UTF-8 cannot encode a lone UTF-16 surrogate (the driver
 *   would silently write U+FFFD instead): either is `invalid_text`.
 * - A B-tree index entry must fit in a third of an 8 kB page (2704 bytes, PostgreSQL 15 `btree v4`);
 *   an indexed column next to `tenant_id` and a timestamp gets {@link INDEXED_TEXT_MAX_BYTES}.
 * - Other columns are `text` (1 GB), but legacy's widest column is a MySQL `TEXT` (65,535 bytes):
 *   anything longer did not come from legacy intact, so {@link TEXT_MAX_BYTES} is the cap.
 */
import type { RejectReason } from './codes';

/** UTF-8 bytes an indexed text column may hold (patient/practitioner/participant refs, legacy ids). */
export const INDEXED_TEXT_MAX_BYTES = 1024;
/** UTF-8 bytes any other text column may hold. */
export const TEXT_MAX_BYTES = 65_535;

export type TextKind = 'indexed' | 'text';

export interface TextRejection {
  reason: Extract<RejectReason, 'field_too_long' | 'invalid_text'>;
  field: string;
  detail: string;
}

// A lone high surrogate, or a low surrogate without its high half.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether PostgreSQL can store the string as `text`/`jsonb` unchanged. */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** UTF-8 length of a string without lone surrogates (a pair is two units of 2 bytes each). */
export function utf8Length(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    bytes += unit < 0x80 ? 1 : unit < 0x800 || (unit >= 0xd800 && unit <= 0xdfff) ? 2 : 3;
  }
  return bytes;
}

/** Checks one value; null when it may be written. The detail names the field and the limit, never the value. */
export function checkText(field: string, value: string | null | undefined, kind: TextKind): TextRejection | null {
  if (value === null || value === undefined) return null;
  if (!isStorableText(value)) {
    return { reason: 'invalid_text', field, detail: `${field} holds a NUL byte or an unpaired surrogate (expected UTF-8 text PostgreSQL can store)` };
  }
  const max = kind === 'indexed' ? INDEXED_TEXT_MAX_BYTES : TEXT_MAX_BYTES;
  // Byte length only matters past max/4 characters: skip the encoding for the usual short value.
  if (value.length * 3 > max && utf8Length(value) > max) {
    return {
      reason: 'field_too_long',
      field,
      detail: `${field} is longer than ${max} UTF-8 bytes (the ${kind === 'indexed' ? 'indexed ' : ''}column's limit)`,
    };
  }
  return null;
}

/** Each field list's entries, made once: the lists are module constants, checked once per legacy row. */
const entriesOf = new WeakMap<object, ReadonlyArray<[string, TextKind]>>();

/** Checks the listed fields of a row in order; the first failure, or null. */
export function checkTexts<F extends string>(row: Readonly<Partial<Record<F, unknown>>>, fields: Readonly<Partial<Record<F, TextKind>>>): TextRejection | null {
  let entries = entriesOf.get(fields) as ReadonlyArray<[F, TextKind]> | undefined;
  if (!entries) entriesOf.set(fields, (entries = Object.entries(fields) as Array<[F, TextKind]>));
  for (const [field, kind] of entries) {
    const value = row[field];
    const rejection = typeof value === 'string' ? checkText(field, value, kind) : null;
    if (rejection) return rejection;
  }
  return null;
}

/** Whether every string (keys included) in a parsed JSON value is storable: `jsonb` refuses `\u0000` too. */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([k, v]) => isStorableText(k) && isStorableJson(v));
  return true;
}
