import { UsageError } from '../engine/errors';

/** `--force --reason "…"`: run past failing gates, recorded in the run ledger with who and why. */
export interface GateOverride {
  readonly reason: string;
}

/** The override the flags ask for; `--force` without a reason is a usage error (exit 2). */
export function parseOverride(raw: { force?: unknown; reason?: unknown }): GateOverride | undefined {
  if (raw.force !== true) {
    if (raw.reason !== undefined) throw new UsageError('--reason is taken only with --force: it says why a gate is overridden');
    return undefined;
  }
  const reason = typeof raw.reason === 'string' ? raw.reason.trim() : '';
  if (!reason) throw new UsageError('--force needs --reason "<why>": an override is recorded in the run ledger (vc_migration.ledger) with who ran it and why');
  return Object.freeze({ reason });
}
