/**
 * What of an error may reach a log line. A `DrizzleQueryError`'s message is the SQL with its bound
 * parameters (patient refs, display names, ciphertext) and pg's `detail` quotes row values, so neither
 * the message nor the detail is ever logged: only the class, PostgreSQL's code, constraint, table and
 * column, and the stack frames (without the first line, which repeats the message).
 */
export interface SafeError {
  name: string;
  code?: string;
  constraint?: string;
  table?: string;
  column?: string;
  frames?: string[];
  cause?: SafeError;
}

const MAX_CAUSES = 4;

export function safeError(error: unknown, depth = 0): SafeError {
  if (error === null || typeof error !== 'object') return { name: typeof error };
  const e = error as { name?: unknown; code?: unknown; constraint?: unknown; table?: unknown; column?: unknown; stack?: unknown; cause?: unknown };
  const text = (v: unknown) => (typeof v === 'string' && v.length <= 128 ? v : undefined);
  const out: SafeError = { name: text(e.name) ?? 'Error' };
  const code = typeof e.code === 'number' ? String(e.code) : text(e.code);
  if (code) out.code = code;
  if (text(e.constraint)) out.constraint = text(e.constraint);
  if (text(e.table)) out.table = text(e.table);
  if (text(e.column)) out.column = text(e.column);
  if (typeof e.stack === 'string')
    out.frames = e.stack
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .slice(0, 8)
      .map((line) => line.trim());
  if (e.cause !== undefined && depth < MAX_CAUSES) out.cause = safeError(e.cause, depth + 1);
  return out;
}
