import { z } from 'zod';

/**
 * Zod primitives every request schema builds on, so hostile input is refused at the edge with a 400
 * naming the field instead of reaching PostgreSQL (or the stack) and coming back as a 500.
 */

/** PostgreSQL text cannot hold U+0000 ("invalid byte sequence"): refuse it where it comes in. */
export const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
export const hasNul = (value: string): boolean => value.includes('\u0000');

/** A string PostgreSQL can store: no NUL character. Chain `.trim().min().max()` as usual. */
export const safeText = () => z.string().refine((v) => !hasNul(v), { message: NUL_MESSAGE });

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

/** True when some string (key or value) of a parsed JSON value holds U+0000; iterative like jsonDepth. */
export function jsonHasNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string' && hasNul(node)) return true;
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      if (hasNul(key)) return true;
      stack.push(child);
    }
  }
  return false;
}

/** A free-form JSON object (branding): at most `maxDepth` levels, no NUL in keys or strings. */
export const boundedJsonObject = (maxDepth = 8) =>
  z.record(z.string(), z.unknown()).superRefine((v, ctx) => {
    if (jsonDepth(v, maxDepth) > maxDepth) ctx.addIssue({ code: 'custom', message: `expected a JSON object at most ${maxDepth} levels deep` });
    else if (jsonHasNul(v)) ctx.addIssue({ code: 'custom', message: NUL_MESSAGE });
  });
