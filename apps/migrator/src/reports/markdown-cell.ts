/**
 * A value as one cell of a Markdown (GFM) table row. A `|` would end the cell and a line break the row (the
 * next line could then read as a heading or a row of its own), so both are escaped, and a backslash first so
 * that a value's own `\|` cannot undo the escape. Text is shown, never interpreted.
 */
export function markdownCell(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, '<br>');
}
