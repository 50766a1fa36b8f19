/** Legacy values are compared trimmed and case-insensitively (docs/design.md §5). */
export function normalise(value: string | null | undefined): string {
  return (value ?? '').trim().toLowerCase();
}

/** A trimmed value, or null when empty or `\N`. */
export function nonEmpty(value: string | null | undefined): string | null {
  const trimmed = (value ?? '').trim();
  return trimmed === '' || trimmed === '\\N' ? null : trimmed;
}
