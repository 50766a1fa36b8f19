/** Legacy values are compared trimmed and case-insensitively (docs/design.md §5). */
export function normalise(value: string | null | undefined): string {
  return (value ?? '').trim().toLowerCase();
}

/** A trimmed value, or null when empty or `\N`. */
export function nonEmpty(value: string | null | undefined): string | null {
  const trimmed = (value ?? '').trim();
  return trimmed === '' || trimmed === '\\N' ? null : trimmed;
}

/**
 * The code points `normalise` trims (`String.prototype.trim`: the ECMAScript white space and line terminators),
 * as inclusive ranges: a reader that filters legacy values in the legacy database's own language (MariaDB's
 * REGEXP) must trim exactly these, or it hands the parser fewer rows than the rule accepts.
 */
export const TRIMMED_CODE_POINTS: ReadonlyArray<readonly [number, number]> = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
