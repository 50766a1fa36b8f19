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
