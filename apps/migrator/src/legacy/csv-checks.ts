import { ExitError } from '../exit-error';
/**
 * What a legacy CSV export must be before any of its records is read. A fault of the file — a missing
 * file, an empty file, a header without a column the table needs or naming one twice, a quote inside an
 * unquoted field or after a closing quote (csv-parse cannot find the next record reliably after it) —
 * stops the step with exit 2 naming the file, the line and what was expected; batches before it stay
 * committed, and the step resumes once the file is fixed. A fault of one record (more or fewer fields than
 * the header, a quoted field never closed, bytes that are not UTF-8) is that record's reject
 * (record-faults.ts), and a fault of a value inside a well-formed record is the row's reject.
 * Messages never quote the data (it may be PHI).
 */

/** The header's columns, trimmed; fails when the table needs a column the header lacks. */
export function checkedHeader(file: string, header: string[], required: readonly string[]): string[] {
  const columns = header.map((h) => h.trim());
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length > 0)
    throw new ExitError(
      2,
      `legacy CSV export ${file}: the header lacks column(s) ${missing.join(', ')} (expected the columns ${required.join(', ')}, in any order)`,
    );
  const twice = columns.filter((c, i) => c !== '' && columns.indexOf(c) !== i);
  if (twice.length > 0) throw new ExitError(2, `legacy CSV export ${file}: the header names column(s) ${[...new Set(twice)].join(', ')} twice`);
  return columns;
}

const PARSE_FAULTS: Readonly<Record<string, string>> = {
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'the record has more or fewer fields than the header (a stray delimiter, or a truncated line)',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'the record has more or fewer fields than the header (a stray delimiter, or a truncated line)',
  CSV_RECORD_DONT_MATCH_COLUMNS_LENGTH: 'the record has more or fewer fields than the header (a stray delimiter, or a truncated line)',
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is never closed (a truncated file?)',
  CSV_INVALID_CLOSING_QUOTE: 'a quote inside an unquoted field or after a closing quote (expected RFC 4180 quoting)',
};

/** csv-parse's error as the file's fault, in our words (its own message may quote field values). */
export function csvFault(file: string, error: unknown): unknown {
  if (error instanceof ExitError) return error;
  const e = error as { code?: string; lines?: number } | null;
  if (!e?.code?.startsWith('CSV_')) return error;
  const what = PARSE_FAULTS[e.code] ?? `not RFC 4180 CSV (${e.code})`;
  // No `cause`: the parser's message may quote a field of the row, and causes reach the logs.
  return new ExitError(2, `legacy CSV export ${file}, line ${e.lines ?? '?'}: ${what}`);
}
