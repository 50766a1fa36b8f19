import { isStorableText } from '@vc/domain/legacy';
import { z } from 'zod';

/**
 * Zod primitives every request schema builds on, so hostile input is refused at the edge with a 400
 * naming the field instead of reaching PostgreSQL (or the stack) and coming back as a 500.
 */

/**
 * PostgreSQL text and jsonb cannot hold U+0000, and UTF-8 cannot encode a lone UTF-16 surrogate (`"\ud800"`
 * is valid JSON): jsonb refuses it (a 500), text gets U+FFFD written in its place (stored, and a JWT built
 * from the raw value disagrees with what is read back). Refuse both where they come in; the check is the
 * migrator's, so legacy rows and API requests follow one rule.
 */
export const UNSTORABLE_TEXT_MESSAGE = 'must not contain the NUL character (U+0000) or an unpaired UTF-16 surrogate';
export const isUnstorableText = (value: string): boolean => !isStorableText(value);

/** A string PostgreSQL can store unchanged. Chain `.trim().min().max()` as usual. */
export const safeText = () => z.string().refine(isStorableText, { message: UNSTORABLE_TEXT_MESSAGE });

/**
 * The instants this service stores: years 0001-9999 UTC. PostgreSQL's timestamptz refuses year 0 and
 * anything past 294276; JavaScript dates reach ±275760, and an ISO offset can push 0001-01-01 into year 0.
 */
export const MIN_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');
export const instantInRange = (ms: number): boolean => Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;

/** An ISO 8601 date-time with offset whose UTC instant lies in years 0001-9999. */
export const pgTimestamp = (message = 'expected an ISO 8601 date-time with offset, e.g. 2026-03-01T10:00:00Z') =>
  z.iso.datetime({ offset: true, message }).refine((v) => instantInRange(Date.parse(v)), { message: 'expected a date-time in the years 0001-9999 (UTC)' });

/** Deepest nesting any request body may have; real bodies here are 3 levels deep at most. */
export const MAX_JSON_DEPTH = 32;

/**
 * Nesting depth of a parsed JSON value, measured without recursion (a 10,000-level body must not
 * overflow the stack here either); stops counting once past `limit`.
 */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * True when some string of a parsed JSON value, object keys at any depth included, is not storable text
 * ({@link isUnstorableText}). Iterative like jsonDepth: the domain's recursive `isStorableJson` is meant
 * for legacy rows, not for bodies a client shaped.
 */
export function jsonHasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string' && isUnstorableText(node)) return true;
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      if (isUnstorableText(key)) return true;
      stack.push(child);
    }
  }
  return false;
}

/** A free-form JSON object (branding): at most `maxDepth` levels, only storable text in keys and strings. */
export const boundedJsonObject = (maxDepth = 8) =>
  z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
    if (jsonDepth(v, maxDepth) > maxDepth) ctx.addIssue({ code: 'custom', message: `expected a JSON object at most ${maxDepth} levels deep` });
    else if (jsonHasUnstorableText(v)) ctx.addIssue({ code: 'custom', message: UNSTORABLE_TEXT_MESSAGE });
  });
