import { diffKongConfig, formatKongDiff, type KongConfig, type KongGateway } from '@vc/integrations/kong';
import type { DatabaseHandle } from '@vc/schema';
import { lockTenantPhase, type Lock } from '../../engine/lock';
import { withTransaction } from '../../engine/tx';
import { UsageError } from '../../engine/errors';
import { Interrupted } from '../../engine/stop-signals';
import type { Logger } from '../../logger';
import { operatorName } from './actor';
import { checkSameGateway, recordedGateway, routingDrift } from './cutover-gateway';
import { deleteCheckpoints } from '../../engine/store/checkpoints';
import { cutoversInForce, type CutoverInForce } from './cutover-records';
import { cutoverHistory, insertCutover, requireRouting } from './cutover-store';
import { freeTextDigest } from '../../ledger/canonical';
import { lockRouting } from './routing-lock';
import { s4Phase } from './steps';

export interface RollbackResult {
  phase: 's4';
  /** The tenant named with --tenant, if any. */
  tenant?: string;
  /** Every tenant whose cutover this rollback ends (or would end). */
  tenants: string[];
  status: 'rolled_back' | 'would_roll_back' | 'nothing_to_roll_back';
  changes: string[];
}

export interface RollbackInput {
  tenant?: string;
  /** Roll the gateway-wide routing back for every tenant whose cutover is in force on it. */
  allTenants: boolean;
  dryRun: boolean;
  /** Rolls back past a recorded decommission; needs `reason`, kept as its digest. */
  force?: boolean;
  reason?: string;
}

interface RollbackContext {
  handle: DatabaseHandle;
  gateway: KongGateway;
  log: Logger;
  /** Throws a UsageError (exit 2) when `--tenant` names no tenant there is (a typo); see commands/rollback.ts. */
  assertKnownTenant?: (tenant: string) => Promise<void>;
}

/** Cutovers in force through this gateway; one whose gateway was never recorded may be, so it counts. */
async function inForceOn(handle: DatabaseHandle, gateway: KongGateway): Promise<CutoverInForce[]> {
  const found: CutoverInForce[] = [];
  for (const cutover of await cutoversInForce(handle.db)) {
    const recorded = await recordedGateway(handle.db, cutover.tenantId);
    if (recorded === undefined || recorded === gateway.description) found.push(cutover);
  }
  return found;
}

/**
 * The cutovers to end. Routing is gateway-wide: rolling one tenant back while another's cutover is in force
 * on the same routing would take that tenant off the new service with its records still saying cut over,
 * so that needs --all-tenants, which ends them all with one routing change.
 */
async function cutoversToEnd(ctx: RollbackContext, input: RollbackInput): Promise<CutoverInForce[]> {
  if (input.tenant) await checkSameGateway(ctx.handle.db, input.tenant, ctx.gateway, 'restore');
  const onGateway = await inForceOn(ctx.handle, ctx.gateway);
  if (input.allTenants) return onGateway;
  const own = (await cutoversInForce(ctx.handle.db)).filter((c) => c.tenantId === input.tenant);
  if (own.length === 0) return [];
  const others = onGateway.filter((c) => c.tenantId !== input.tenant).map((c) => c.tenantId);
  if (others.length > 0) {
    throw new UsageError(
      `tenant ${input.tenant}: the cutover of tenant(s) ${others.join(', ')} is in force on the same routing (${ctx.gateway.description}); Kong routing is gateway-wide, ` +
        `so rolling back ${input.tenant} would take them off the new service too. Pass --all-tenants to roll the routing back once and record a rollback for each of them`,
    );
  }
  return own;
}

/**
 * The routing to restore: the snapshot of the earliest of these cutovers taken before the routing was cut
 * over (a later tenant's snapshot already holds the cut-over routing: restoring it would change nothing).
 * A missing or corrupt snapshot on the way is refused naming its record: that cutover may be the one that
 * switched the routing, and no later record holds the routing before it.
 */
function routingToRestore(cutovers: readonly CutoverInForce[]): KongConfig {
  for (const c of cutovers) {
    const previous = requireRouting(c, 'previousRouting', c.tenantId);
    if (routingDrift(previous, requireRouting(c, 'appliedRouting', c.tenantId)).length > 0) return previous;
  }
  throw new UsageError(
    `the routing snapshotted before the cutover of ${cutovers.map((c) => c.tenantId).join(', ')} was already the cut-over routing (the tenant that switched it was rolled back on its own): ` +
      'there is no earlier routing to restore from these records; restore it by hand (see runbooks/rollback.md)',
  );
}

/**
 * A decommission recorded after a cutover says legacy may be gone, and it has taken no write since the cutover:
 * routing its traffic back (gateway-wide) would send every tenant to a retired or weeks-stale legacy. Refused
 * (exit 2) unless `--force --reason`, for an operator who knows legacy still serves; returns the reason's digest.
 */
async function pastDecommission(handle: DatabaseHandle, cutovers: readonly CutoverInForce[], input: RollbackInput): Promise<string | undefined> {
  const decommissioned: string[] = [];
  for (const c of cutovers) {
    const history = await cutoverHistory(handle.db, c.tenantId);
    if (history.some((r) => r.action === 'decommission' && r.createdAt >= c.createdAt)) decommissioned.push(c.tenantId);
  }
  if (decommissioned.length === 0) return undefined;
  if (!input.force)
    throw new UsageError(
      `${decommissioned.map((t) => `tenant ${t}`).join(', ')}: legacy was recorded as decommissioned after the cutover (vc_migration.cutovers); it may be gone, and it took no write since the cutover. ` +
        'Nothing was changed. If legacy still serves and you mean to route traffic back to it, pass --force --reason "<why>" (recorded): see runbooks/rollback.md',
    );
  if (!input.reason?.trim()) throw new UsageError('--force needs --reason "<why>": a rollback past a decommission is recorded with its reason');
  return freeTextDigest(input.reason);
}

/** Takes the (tenant, s4) lock of each of `tenants` not in `held` yet, in order; on a refusal the caller releases `held`. */
async function lockMore(handle: DatabaseHandle, tenants: readonly string[], held: Map<string, Lock>): Promise<void> {
  // Incident response: a validate reading the tenant must not hold it up, and the rollback writes none of what it compares.
  for (const tenant of [...new Set(tenants)].sort()) if (!held.has(tenant)) held.set(tenant, await lockTenantPhase(handle, tenant, 's4', undefined, false));
}

/**
 * Records a rollback per tenant and resets all of S4's steps, so a re-cutover delta-syncs again from 4.1:
 * legacy took writes again while it served traffic.
 */
async function recordRollback(
  handle: DatabaseHandle,
  cutovers: readonly CutoverInForce[],
  replaced: KongConfig,
  restored: KongConfig,
  forcedReason: string | undefined,
): Promise<void> {
  const actor = operatorName();
  await withTransaction(handle, async (tx) => {
    for (const c of cutovers) {
      await insertCutover(tx.db, {
        tenantId: c.tenantId,
        action: 'rollback',
        previousRouting: replaced,
        appliedRouting: restored,
        reason: `rolls back cutover ${c.id}${forcedReason ? ` past its decommission, forced: ${forcedReason}` : ''}`,
        forced: forcedReason !== undefined,
        actor,
      });
      // Checkpoints only: the rejects stay true (a re-run finds the same rows and records none twice).
      await deleteCheckpoints(
        tx.db,
        c.tenantId,
        's4',
        s4Phase.steps.map((s) => s.id),
      );
    }
  });
}

/**
 * `migrator rollback s4`: restores the routing snapshotted before the cutover and records a `rollback` for
 * each tenant whose cutover it ends, under their (tenant, s4) locks. Without a cutover in force it changes
 * nothing and says so; a dry run prints the Kong changes and records nothing.
 */
export async function rollbackCutover(ctx: RollbackContext, input: RollbackInput, signal?: AbortSignal): Promise<RollbackResult> {
  const base = { phase: 's4' as const, ...(input.tenant ? { tenant: input.tenant } : {}) };
  // A typo must not be told "nothing to roll back" (exit 0), as if the tenant were safely on legacy.
  if (input.tenant) await ctx.assertKnownTenant?.(input.tenant);
  // Locks first, decisions after: a `phase s4` of the tenant running now holds its lock, and the cutovers it is
  // about to record are not in force yet; read before the lock, this rollback would say nothing_to_roll_back
  // while the cutover goes on. The dry run locks too, so its preview is what a rollback would do now.
  const held = new Map<string, Lock>();
  let routing: { release(): Promise<void> } | undefined;
  try {
    if (input.tenant) await lockMore(ctx.handle, [input.tenant], held);
    // Before the records are read: another tenant's cutover recorded after this read would be left in force on
    // the routing restored here. The dry run too, so its preview is what a rollback would do now.
    routing = await lockRouting(ctx.handle, ctx.gateway.description);
    let cutovers = await cutoversToEnd(ctx, input);
    // `--all-tenants`, or others in force beside the tenant: lock them too, then read again under every lock,
    // until what is read is all locked (a cutover recorded in between brings its tenant in).
    while (cutovers.some((c) => !held.has(c.tenantId))) {
      await lockMore(
        ctx.handle,
        cutovers.map((c) => c.tenantId),
        held,
      );
      cutovers = await cutoversToEnd(ctx, input);
    }
    const tenants = cutovers.map((c) => c.tenantId);
    if (cutovers.length === 0) return { ...base, tenants, status: 'nothing_to_roll_back', changes: [] };
    const forcedReason = await pastDecommission(ctx.handle, cutovers, input);
    const restore = routingToRestore(cutovers);
    const current = await ctx.gateway.snapshot();
    const changes = diffKongConfig(current, restore);
    ctx.log.info({ tenants, gateway: ctx.gateway.description }, `rollback plan:\n${formatKongDiff(changes)}`);
    const summary = changes.map((c) => `${c.action} ${c.entity}`);
    if (input.dryRun) return { ...base, tenants, status: 'would_roll_back', changes: summary };
    // The last point a stop request is honoured: once Kong is changed, the rollback is recorded whatever arrives.
    if (signal?.aborted) throw new RollbackInterrupted();
    // Nothing is recorded until the routing is restored: a failed apply leaves the cutovers in force, re-runnable.
    await ctx.gateway.apply(restore);
    await recordRollback(ctx.handle, cutovers, current, restore, forcedReason);
    return { ...base, tenants, status: 'rolled_back', changes: summary };
  } finally {
    await routing?.release();
    await Promise.all([...held.values()].map((l) => l.release()));
  }
}

/** A stop request (SIGINT/SIGTERM/SIGHUP) that came before Kong was changed: nothing was applied or recorded. */
export class RollbackInterrupted extends Interrupted {
  constructor() {
    super('rollback s4 interrupted before the routing was changed: nothing applied, nothing recorded; run it again');
  }
}
