import { userInfo } from 'node:os';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { ExitError } from '../../exit-error';
import { activeCutover, cutoverHistory } from './cutover-records';

/** Plan §4: legacy decommission is gated on a two-week stability window after the cutover. */
export const STABILITY_WINDOW_MS = 14 * 86_400_000;

export interface DecommissionResult {
  tenant: string;
  status: 'decommissioned' | 'already_decommissioned';
  cutoverAt: string;
  stableSince: string;
  forced: boolean;
}

function operator(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (containers): the uid still says who it was.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * `migrator phase s4 decommission --tenant X [--force --reason "…"]`: records that legacy may be
 * decommissioned for the tenant. Refused (exit 2) without an active cutover, and inside the stability
 * window unless forced with a reason; a forced decommission is recorded with its reason and operator.
 */
export async function decommissionLegacy(db: Database, input: { tenant: string; now: Date; force: boolean; reason?: string }): Promise<DecommissionResult> {
  const history = await cutoverHistory(db, input.tenant);
  const active = activeCutover(history);
  if (!active) throw new ExitError(2, `tenant ${input.tenant} has no cutover in force (run \`migrator phase s4 --tenant ${input.tenant}\` first, or it was rolled back)`);
  const stableAt = new Date(active.createdAt.getTime() + STABILITY_WINDOW_MS);
  const base = { tenant: input.tenant, cutoverAt: active.createdAt.toISOString(), stableSince: stableAt.toISOString() };
  const already = history.find((r) => r.action === 'decommission' && r.createdAt >= active.createdAt);
  if (already) return { ...base, status: 'already_decommissioned', forced: already.forced };
  const inside = input.now < stableAt;
  if (inside && !input.force) {
    throw new ExitError(2, `tenant ${input.tenant} is inside the 2-week stability window until ${stableAt.toISOString()}; decommission then, or pass --force --reason "<why>" (recorded)`);
  }
  if (inside && !input.reason?.trim()) throw new ExitError(2, '--force needs --reason "<why>": a forced decommission is recorded with its reason');
  await queryRows(
    db,
    sql`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing, forced, reason, actor)
        values (${input.tenant}, 'decommission', null, null, ${inside}, ${input.reason?.trim() || null}, ${operator()}) returning id`,
  );
  return { ...base, status: 'decommissioned', forced: inside };
}
