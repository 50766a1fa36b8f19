import { isoString } from './iso-time';

/**
 * PostgreSQL COPY text format (https://www.postgresql.org/docs/15/sql-copy.html, "Text Format"):
 * tab-separated, `\N` for NULL, backslash escapes for backslash, tab, newline and carriage return.
 */
export function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  let text: string;
  if (value instanceof Date) text = isoString(value);
  else if (typeof value === 'object') text = JSON.stringify(value);
  else if (typeof value === 'boolean') text = value ? 't' : 'f';
  else text = String(value);
  // Most values (ids, timestamps, codes) need no escaping: test before building a replaced copy.
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, escapeChar) : text;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPED = /[\\\t\n\r]/g;
const escapeChar = (c: string) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r');

/** A value as a bind parameter: what COPY would have sent, minus the escaping. */
export function paramValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return isoString(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/**
 * Rows already written as COPY text, one line a row: all a pipelined batch needs to keep while it waits for its
 * transaction (engine/pipeline.ts), instead of the mapped objects and legacy rows it was made from. Lines, not
 * the chunks COPY sends: a line is a flat one-byte string unless the row has a character beyond Latin-1, while a
 * chunk of many rows is two bytes a character as soon as one of them has (legacy texts with an em dash are common);
 * chunks are joined only as COPY sends them ({@link copyChunks}), small and short-lived.
 */
export interface CopyRows {
  readonly kind: 'copy-rows';
  /** One {@link copyLine} a row. */
  readonly lines: readonly string[];
}

/** Rows per chunk sent to COPY: keeps the socket busy, and a chunk small enough to die young. */
export const ROWS_PER_CHUNK = 100;

/** One row's COPY line, without its newline, as one flat string (built by `join`, not `+=`). */
export function copyLine(row: readonly unknown[]): string {
  const fields = new Array<string>(row.length);
  for (let i = 0; i < row.length; i++) fields[i] = copyValue(row[i]);
  return fields.join('\t');
}

export function encodeLines(lines: readonly string[]): CopyRows {
  return { kind: 'copy-rows', lines };
}

export function encodeRows(rows: ReadonlyArray<readonly unknown[]>): CopyRows {
  return encodeLines(rows.map(copyLine));
}

/** The COPY text of `rows`, a chunk at a time, each joined only when COPY asks for it. */
export function* copyChunks(rows: CopyRows): Generator<string> {
  for (let i = 0; i < rows.lines.length; i += ROWS_PER_CHUNK) {
    const chunk = rows.lines.slice(i, i + ROWS_PER_CHUNK);
    // The empty last element ends the last line: one join, one flat string.
    chunk.push('');
    yield chunk.join('\n');
  }
}

export function isCopyRows(rows: ReadonlyArray<readonly unknown[]> | CopyRows): rows is CopyRows {
  return !Array.isArray(rows) && (rows as CopyRows).kind === 'copy-rows';
}

const UNESCAPED: Readonly<Record<string, string>> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

/**
 * The rows of {@link encodeRows} back as text values (NULL as null), for a statement that takes parameters
 * instead of COPY: PostgreSQL reads each as it would read it from COPY, by the column's type.
 */
export function decodeRows(encoded: CopyRows): Array<Array<string | null>> {
  // A tab or newline inside a value is escaped, so every tab separates fields.
  return encoded.lines.map((line) =>
    line.split('\t').map((field) => (field === '\\N' ? null : field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => UNESCAPED[c]!) : field)),
  );
}
