import type { KongGateway } from '@vc/integrations/kong';
import type { Database } from '@vc/schema';
import { UsageError } from '../../engine/errors';
import { Interrupted, untilStopped } from '../../engine/stop-signals';
import { freeTextDigest } from '../../ledger/canonical';
import { operatorName } from './actor';
import { checkSameGateway, routingDrift } from './cutover-gateway';
import { activeCutover } from './cutover-records';
import { cutoverHistory, insertCutover, requireRouting, type CutoverRecord } from './cutover-store';

/** Plan §4: legacy decommission is gated on a two-week stability window after the cutover. */
export const STABILITY_WINDOW_MS = 14 * 86_400_000;

export interface DecommissionResult {
  tenant: string;
  status: 'decommissioned' | 'would_decommission' | 'already_decommissioned';
  cutoverAt: string;
  stableSince: string;
  forced: boolean;
}

export interface DecommissionInput {
  tenant: string;
  now: Date;
  force: boolean;
  reason?: string;
  /** Every check as in a real run (same refusals, same exit), nothing recorded. */
  dryRun: boolean;
}

/**
 * Routing is gateway-wide while the cutover is recorded per tenant: the tenant's record says nothing of
 * what Kong serves now (another tenant's rollback, a hand edit). Legacy may only go once the routing in
 * force is the one the tenant's cutover applied.
 */
async function checkCutOverRouting(db: Database, gateway: KongGateway, tenant: string, cutover: CutoverRecord): Promise<void> {
  await checkSameGateway(db, tenant, gateway, 'check');
  const applied = requireRouting(cutover, 'appliedRouting', tenant);
  const drift = routingDrift(await gateway.snapshot(), applied);
  if (drift.length === 0) return;
  throw new UsageError(
    `tenant ${tenant}: the routing in force on ${gateway.description} is not the one its cutover applied (${drift.length} difference(s): ${drift.slice(0, 5).join('; ')}); ` +
      `legacy still serves or may serve traffic: refusing to decommission. Re-run \`migrator phase s4 --tenant ${tenant} --restart-step 4.2\` or investigate the gateway`,
  );
}

/**
 * `migrator phase s4 decommission --tenant X [--force --reason "…"] [--dry-run]`: records that legacy may
 * be decommissioned for the tenant. Refused (exit 2) without an active cutover, when the routing in force
 * is not the cut-over one, and inside the stability window unless forced with a reason; a forced
 * decommission is recorded with its reason and operator. A dry run refuses alike and records nothing.
 */
export async function decommissionLegacy(db: Database, gateway: KongGateway, input: DecommissionInput, signal?: AbortSignal): Promise<DecommissionResult> {
  const history = await cutoverHistory(db, input.tenant);
  const active = activeCutover(history);
  if (!active)
    throw new UsageError(`tenant ${input.tenant} has no cutover in force (run \`migrator phase s4 --tenant ${input.tenant}\` first, or it was rolled back)`);
  const stableAt = new Date(active.createdAt.getTime() + STABILITY_WINDOW_MS);
  const base = { tenant: input.tenant, cutoverAt: active.createdAt.toISOString(), stableSince: stableAt.toISOString() };
  const already = history.find((r) => r.action === 'decommission' && r.createdAt >= active.createdAt);
  if (already) return { ...base, status: 'already_decommissioned', forced: already.forced };
  const inside = input.now < stableAt;
  if (inside && !input.force) {
    throw new UsageError(
      `tenant ${input.tenant} is inside the 2-week stability window until ${stableAt.toISOString()}; decommission then, or pass --force --reason "<why>" (recorded)`,
    );
  }
  if (inside && !input.reason?.trim()) throw new UsageError('--force needs --reason "<why>": a forced decommission is recorded with its reason');
  // The check only reads (a slow Kong Admin API is where the command waits): a stop request ends it at once.
  const checking = checkCutOverRouting(db, gateway, input.tenant, active);
  await (signal ? untilStopped(checking, signal, () => decommissionInterrupted(signal)) : checking);
  if (input.dryRun) return { ...base, status: 'would_decommission', forced: inside };
  // The safe point: the record is the command's one write, so before it nothing has happened, and once it is
  // made the decommission is done (a re-run says already_decommissioned).
  if (signal?.aborted) throw new Interrupted(decommissionInterrupted(signal));
  await insertCutover(db, {
    tenantId: input.tenant,
    action: 'decommission',
    previousRouting: null,
    appliedRouting: null,
    forced: inside,
    reason: input.reason?.trim() ? freeTextDigest(input.reason) : null,
    actor: operatorName(),
  });
  return { ...base, status: 'decommissioned', forced: inside };
}

function decommissionInterrupted(signal: AbortSignal): string {
  return `phase s4 decommission interrupted (${(signal.reason as Error).message}): nothing recorded; run it again`;
}
