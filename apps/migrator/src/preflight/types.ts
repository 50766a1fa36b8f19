import type { MigratorConfig } from '../config';
import type { Logger } from '../logger';

/**
 * One named preflight check: `pass`, `fail` (preflight exits 2), or `skip` when the system it probes is
 * not configured (the reason names the variable and what needs it). Reasons are one line and carry
 * counts, ids of tenants and tables, versions — never a secret, a URL's credentials or PHI.
 */
export interface CheckOutcome {
  id: string;
  status: 'pass' | 'fail' | 'skip';
  reason: string;
}

/** What every check group gets: the configuration and the tenants preflight was asked about. */
export interface PreflightContext {
  config: MigratorConfig;
  log: Logger;
  /** The tenants to check (`--tenant` or every legacy tenant); empty when the legacy source is unreachable. */
  tenants: readonly string[];
}

export const pass = (id: string, reason: string): CheckOutcome => ({ id, status: 'pass', reason });
export const fail = (id: string, reason: string): CheckOutcome => ({ id, status: 'fail', reason });
export const skip = (id: string, reason: string): CheckOutcome => ({ id, status: 'skip', reason });

/**
 * An error as one safe line: its message (and its cause's code, e.g. ECONNREFUSED), with any URL's
 * `user:password@` removed and long base64 runs (keys, tokens) masked.
 */
export function safeReason(error: unknown): string {
  const e = error as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? (e?.code && !String(e.message ?? '').includes(e.code) ? e.code : undefined);
  const text = `${e?.message ?? String(error)}${cause ? ` (${cause})` : ''}`;
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1')
    .replace(/[A-Za-z0-9+/_=-]{32,}/g, '…')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 240);
}

/** Runs `probe`; a throw is a failure of `id` with the error's {@link safeReason}. */
export async function probe(id: string, run: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await run();
  } catch (error) {
    return fail(id, safeReason(error));
  }
}
