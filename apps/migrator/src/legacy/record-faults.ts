import { TEXT_MAX_BYTES } from '@vc/domain/legacy';
import type { RejectInput } from '../engine/types';
import { ESCAPED_BYTE, showEscapedBytes } from './utf8-escape';

/**
 * A record of a source that is not a row: a CSV record with more or fewer fields than the header (a
 * stray delimiter or a cut line shifts every field after it, so no field of it is trusted and it is never
 * loaded), a quoted field never closed (a truncated last line), or bytes that are not UTF-8. It is one
 * reject of the step that reads it, keyed by where it is (`VirtualSession.csv:42`); its raw text goes to
 * the reject table only, escaped and bounded. Details and errors never quote it (it may be PHI).
 */
export interface RecordFault {
  reason: 'malformed_record' | 'invalid_encoding';
  /** `file:line` of the line the record starts on. */
  location: string;
  detail: string;
  raw: Record<string, unknown>;
}

/** What of a raw record a reject keeps: its text with invalid bytes as `\xNN`, cut to the widest legacy text. */
export function rawRecord(file: string, line: number, text: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const shown = showEscapedBytes(text.replace(/\r?\n$/, ''));
  const cut = shown.length > TEXT_MAX_BYTES;
  return { $file: file, $line: line, $record: cut ? shown.slice(0, TEXT_MAX_BYTES) : shown, ...(cut ? { $truncatedFrom: shown.length } : {}), ...extra };
}

/** The first field (by header name) holding bytes that were not UTF-8, if any. */
export function fieldWithInvalidBytes(header: readonly string[], fields: readonly string[]): string | undefined {
  const i = fields.findIndex((f) => ESCAPED_BYTE.test(f));
  return i < 0 ? undefined : (header[i] ?? `field ${i + 1}`);
}

/**
 * The values a malformed record's tenant column may hold: counted from the start (a fault after the
 * column) and from the end (a stray delimiter before it). The record belongs to a tenant only if one is its id.
 */
export function tenantCandidates(fields: readonly string[], headerLength: number, tenantIndex: number): string[] {
  const fromEnd = fields.length - (headerLength - tenantIndex);
  // Untrimmed, as a row's tenant is compared.
  return [...new Set([fields[tenantIndex], fromEnd >= 0 ? fields[fromEnd] : undefined].filter((v): v is string => v !== undefined))];
}

/**
 * The fields of a record cut off inside an open quote (csv-parse gives none for it): enough to find its
 * tenant. RFC 4180 quoting, comma-separated; the unclosed field is returned as far as it goes.
 */
export function splitOpenRecord(text: string): string[] {
  const fields: string[] = [];
  let value = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      value += '"';
      i += 1;
    } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      fields.push(value);
      value = '';
    } else value += c;
  }
  fields.push(value);
  return fields;
}

/** A batch's faults as rejects. `withhold` keeps the record's text out (a config record carries the credentials blob). */
export function faultRejects(faults: readonly RecordFault[] | undefined, options: { withhold?: boolean } = {}): RejectInput[] {
  return (faults ?? []).map((f) => ({
    legacyKey: f.location,
    reason: f.reason,
    detail: f.detail,
    raw: options.withhold ? { ...f.raw, $record: '[withheld: the record may hold the credentials blob]' } : f.raw,
    source: f.location,
  }));
}

/** Source records a batch stands for: its rows and its faults (each fault is one reject). */
export const recordsOf = (batch: { rows: readonly unknown[]; faults?: readonly unknown[] }) => batch.rows.length + (batch.faults?.length ?? 0);
