import { Transform } from 'node:stream';
import { ExitError } from '../exit-error';

/**
 * What a legacy CSV export must be before any row of it is mapped. A fault of the file — not UTF-8, an
 * empty file, a header without a column the table needs, a record with more or fewer fields than the
 * header (a stray delimiter or a truncated last line shifts every value after it, so no field of that
 * record can be trusted), an unclosed quote — stops the step with exit 2 naming the file, the line and
 * what was expected; batches before it stay committed, and the step resumes once the file is fixed.
 * A fault of a value inside a well-formed record is the row's, and becomes a per-row reject.
 * Messages never quote the data (it may be PHI).
 */

/** Decodes strictly: the default decoder would turn invalid bytes into U+FFFD without a word. */
export function strictUtf8(file: string): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  const fail = (chunk: Buffer | undefined) => {
    // Where: the line of the first replacement character a lenient decode of the chunk produces.
    const lenient = chunk ? new TextDecoder('utf-8').decode(chunk) : '';
    const at = lenient.indexOf('\uFFFD');
    const lines = at < 0 ? 0 : (lenient.slice(0, at).match(/\n/g) ?? []).length;
    return new ExitError(2, `legacy CSV export ${file}, line ${line + lines}: not valid UTF-8 (expected a UTF-8 export; re-export with UTF-8 encoding)`);
  };
  return new Transform({
    readableObjectMode: false,
    transform(chunk: Buffer, _encoding, done) {
      try {
        const text = decoder.decode(chunk, { stream: true });
        line += (text.match(/\n/g) ?? []).length;
        done(null, text);
      } catch {
        done(fail(chunk));
      }
    },
    flush(done) {
      try {
        done(null, decoder.decode());
      } catch {
        done(fail(undefined));
      }
    },
  });
}

/** The header's columns, trimmed; fails when the table needs a column the header lacks. */
export function checkedHeader(file: string, header: string[], required: readonly string[]): string[] {
  const columns = header.map((h) => h.trim());
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length > 0) throw new ExitError(2, `legacy CSV export ${file}: the header lacks column(s) ${missing.join(', ')} (expected the columns ${required.join(', ')}, in any order)`);
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
