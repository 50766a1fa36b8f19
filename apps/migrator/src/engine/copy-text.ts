/**
 * PostgreSQL COPY text format (https://www.postgresql.org/docs/15/sql-copy.html, "Text Format"):
 * tab-separated, `\N` for NULL, backslash escapes for backslash, tab, newline and carriage return.
 */
export function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  let text: string;
  if (value instanceof Date) text = value.toISOString();
  else if (typeof value === 'object') text = JSON.stringify(value);
  else if (typeof value === 'boolean') text = value ? 't' : 'f';
  else text = String(value);
  // Most values (ids, timestamps, codes) need no escaping: test before building a replaced copy.
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPED, escapeChar) : text;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPED = /[\\\t\n\r]/g;
const escapeChar = (c: string) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r');

/** One COPY line per row, newline-terminated; built by appending, without an array per row. */
export function copyLines(rows: ReadonlyArray<readonly unknown[]>): string {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) out += i === 0 ? copyValue(row[i]) : `\t${copyValue(row[i])}`;
    out += '\n';
  }
  return out;
}

/** A value as a bind parameter: what COPY would have sent, minus the escaping. */
export function paramValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/**
 * Rows already written as COPY text, up to {@link ROWS_PER_CHUNK} rows a chunk: the bytes a batch sends, and all a
 * pipelined batch needs to keep while it waits for its transaction (engine/pipeline.ts), instead of the mapped
 * objects and legacy rows it was made from (several KiB a row, on V8's heap; V8 then grows the heap to a multiple of it).
 */
export interface CopyRows {
  readonly kind: 'copy-rows';
  /** How many rows the chunks hold. */
  readonly count: number;
  readonly chunks: readonly Buffer[];
}

/** Rows per chunk: keeps the socket busy without one huge buffer for a big batch. */
export const ROWS_PER_CHUNK = 1000;

export function encodeRows(rows: ReadonlyArray<readonly unknown[]>): CopyRows {
  const chunks: Buffer[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) chunks.push(Buffer.from(copyLines(rows.slice(i, i + ROWS_PER_CHUNK)), 'utf8'));
  return { kind: 'copy-rows', count: rows.length, chunks };
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
  const rows: Array<Array<string | null>> = [];
  for (const chunk of encoded.chunks) {
    const text = chunk.toString('utf8');
    // A newline inside a value is escaped, so every newline ends a row.
    for (const line of text.slice(0, -1).split('\n'))
      rows.push(
        line.split('\t').map((field) => (field === '\\N' ? null : field.includes('\\') ? field.replace(/\\(.)/g, (_, c: string) => UNESCAPED[c]!) : field)),
      );
  }
  return rows;
}
