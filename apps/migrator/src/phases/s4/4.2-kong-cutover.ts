import { diffKongConfig, formatKongDiff, planCutover, type KongChange, type KongConfig, type KongGateway } from '@vc/integrations/kong';
import { legacyTenantList } from '../../engine/known-tenants';
import type { Step, StepContext } from '../../engine/types';
import { gatewayFailures, settleGates } from '../../gates/enforce';
import { freeTextDigest } from '../../ledger/canonical';
import { printNote } from '../../output';
import { operatorName } from './actor';
import { activeCutover } from './cutover-records';
import { cutoverHistory, insertCutover, requireRouting } from './cutover-store';
import { NEW_PATH_PREFIX, s4Options } from './options';
import { lockRouting } from './routing-lock';

/** What applying `planned` would change on the gateway now, printed as a diff (stderr) and kept in the facts. */
function showPlan(ctx: StepContext, gateway: KongGateway, changes: readonly KongChange[]): string[] {
  const lines = formatKongDiff(changes).split('\n');
  printNote(
    `Kong plan for ${gateway.description} (tenant ${ctx.tenantId}${ctx.options.dryRun ? ', dry run: nothing applied' : ''}):\n${lines.map((l) => `  ${l}`).join('\n')}`,
  );
  ctx.log.info({ tenant: ctx.tenantId, gateway: gateway.description, changes: changes.length }, 'Kong plan');
  return lines;
}

/**
 * Routing is gateway-wide: a change that moves anything moves every tenant legacy knows. Each of them must
 * pass its S4 gate (this tenant's was checked when the phase started), else the step is refused (exit 2),
 * unless `--force --reason` runs past it, recorded in the run ledger. Returns the facts status shows.
 */
async function trafficGate(ctx: StepContext, changes: readonly KongChange[]): Promise<Record<string, unknown>> {
  if (changes.length === 0) return { trafficMoves: [] };
  const moving = await legacyTenantList(await ctx.services.legacy());
  const failures = await gatewayFailures(ctx.db.db, moving, [ctx.tenantId]);
  const overridden = settleGates(
    `phase s4 step 4.2 (Kong cutover moving the traffic of ${moving.join(', ')})`,
    's4',
    failures,
    ctx.options.override,
    ctx.options.dryRun,
  );
  return {
    trafficMoves: moving,
    ...(overridden.length
      ? { gatesOverridden: overridden.map((f) => `${f.tenant} ${f.gate}: ${f.why}`), overrideReason: freeTextDigest(ctx.options.override?.reason ?? '') }
      : {}),
  };
}

/**
 * Plan S4: Kong forwards `/api/v1/virtual-care/*` to the new service and the legacy virtual-session
 * endpoints answer 301 to their new paths. The routing in force is snapshotted into `vc_migration.cutovers`
 * (committed) BEFORE anything is applied, so `migrator rollback s4` can always restore it. Routing is
 * gateway-wide: a tenant cut over after another finds it switched already, and records that; the first one
 * names every tenant whose traffic moves and is refused while any of them fails its gate.
 * Under `--dry-run` it only prints the plan, whatever was saved before: nothing is applied or recorded.
 */
export const kongCutoverStep: Step = {
  id: '4.2',
  title: 'Apply the Kong routing change (snapshot first) and record the cutover',
  async run(ctx, checkpoint) {
    const gateway = await ctx.services.kong();
    // From reading the records to recording the change: a rollback changing the routing meanwhile would leave
    // this cutover recorded in force on the routing it restores. A dry run records and applies nothing.
    const routing = ctx.options.dryRun ? undefined : await lockRouting(ctx.db, gateway.description);
    try {
      return await cutOver(ctx, checkpoint, gateway);
    } finally {
      await routing?.release();
    }
  },
};

/** Step 4.2 under the routing lock. */
async function cutOver(ctx: StepContext, checkpoint: Parameters<Step['run']>[1], gateway: KongGateway): ReturnType<Step['run']> {
  const { serviceUpstream, legacyService } = s4Options(ctx.options);
  // A cutover already in force for the tenant (a re-run after --restart-step) keeps its record: a second
  // snapshot would hold the cut-over routing, and rollback would then restore nothing.
  // Its routing unreadable is refused: planning afresh would snapshot the cut-over routing as the one to restore.
  const active = checkpoint.cursor?.planned ? undefined : activeCutover(await cutoverHistory(ctx.db.db, ctx.tenantId));
  const saved = (checkpoint.cursor?.planned as KongConfig | undefined) ?? (active ? requireRouting(active, 'appliedRouting', ctx.tenantId) : undefined);
  const previous = await gateway.snapshot();
  const planned = saved ?? planCutover(previous, { serviceUrl: serviceUpstream, newPathPrefix: NEW_PATH_PREFIX, legacyServiceName: legacyService });
  const changes = diffKongConfig(previous, planned);
  const kongPlan = showPlan(ctx, gateway, changes);
  const moves = await trafficGate(ctx, changes);
  // Planned by an earlier run (its apply failed, or a cutover is in force): the plan shown is all a dry run does.
  if (saved && ctx.options.dryRun) return { facts: { kongPlan, ...moves } };
  if (!saved) {
    const record = {
      tenantId: ctx.tenantId,
      action: 'cutover',
      previousRouting: previous,
      appliedRouting: planned,
      watermark: ctx.options.asOf,
      actor: operatorName(),
    } as const;
    await ctx.commit({
      cursor: { planned },
      read: 1,
      written: 1,
      facts: { gateway: gateway.description, changes: changes.map((c) => `${c.action} ${c.entity}`), kongPlan, ...moves },
      write: async (tx) => {
        await insertCutover(tx.db, record);
      },
    });
    // The engine wrote nothing (no snapshot recorded): applying now would leave rollback nothing to restore.
    if (ctx.options.dryRun) return;
  }
  // apply() reconciles to `planned`: doing it again after a crash between snapshot and apply is harmless.
  await gateway.apply(planned);
  // The gateway is recorded again: after --restart-step 4.2 the checkpoint holding it was reset.
  await ctx.commit({
    cursor: { planned, applied: true },
    read: 0,
    written: 0,
    facts: { gateway: gateway.description, applied: true, ...(saved ? { kongPlan, ...moves } : {}) },
  });
}
