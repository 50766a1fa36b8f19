import { DrizzleQueryError } from 'drizzle-orm/errors';

/**
 * Drizzle's error for a failed query carries the query's parameters in its message ("Failed query: …
 * params: …"): in a batch write those are legacy values, patient refs and names among them. What reaches a
 * step's error, a log or stderr is the driver's SQLSTATE and message instead, its quoted values cut out.
 */
export function withoutQueryParams(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = (cause as { code?: unknown } | undefined)?.code;
  // PostgreSQL quotes the offending value in some messages (`invalid input syntax for type integer: "…"`).
  const text = (cause?.message ?? 'no driver message').replace(/"[^"]*"/g, '"…"');
  const safe = new Error(`database query failed${typeof code === 'string' ? ` (SQLSTATE ${code})` : ''}: ${text}`);
  safe.stack = `${safe.message}\n${(cause?.stack ?? '').split('\n').slice(1).join('\n')}`;
  return safe;
}
