import { createHash } from 'node:crypto';

/**
 * Canonical JSON (keys sorted at every level, no whitespace, RFC 8785's ordering for the plain strings,
 * integers and booleans the ledger holds): the same value always hashes the same, however PostgreSQL's
 * jsonb reordered its keys on the way back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** `sha256:<hex>`: every digest the ledger and the evidence pack carry is labelled so (the PHI guard knows the form). */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * What is kept of a free text an operator typed (a `--reason`), wherever it is recorded: `sha256:<hex>
 * (<n> chars)` of the text without leading or trailing blanks, never the text, which may name a patient.
 * The operator keeps the text in the change ticket; `printf %s "<text>" | sha256sum` ties the two.
 */
export function freeTextDigest(text: string): string {
  const trimmed = text.trim();
  return `${sha256(trimmed)} (${trimmed.length} chars)`;
}
