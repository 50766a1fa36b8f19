import { diffKongConfig, formatKongDiff, planCutover, type KongConfig, type KongGateway } from '@vc/integrations/kong';
import type { Step, StepContext } from '../../engine/types';
import { operatorName } from './actor';
import { activeCutover, cutoverHistory } from './cutover-records';
import { NEW_PATH_PREFIX, s4Options } from './options';

/** Logs what applying `planned` would change on the gateway now. */
async function logPlan(ctx: StepContext, gateway: KongGateway, current: KongConfig, planned: KongConfig): Promise<string[]> {
  const changes = diffKongConfig(current, planned);
  ctx.log.info({ tenant: ctx.tenantId, gateway: gateway.description, changes: changes.length }, `Kong plan:\n${formatKongDiff(changes)}`);
  return changes.map((c) => `${c.action} ${c.entity}`);
}

/**
 * Plan S4: Kong forwards `/api/v1/virtual-care/*` to the new service and the legacy virtual-session
 * endpoints answer 301 to their new paths. The routing in force is snapshotted into `vc_migration.cutovers`
 * (committed) BEFORE anything is applied, so `migrator rollback s4` can always restore it. Routing is
 * gateway-wide: a tenant cut over after another finds it switched already, and records that.
 * Under `--dry-run` it only prints the plan, whatever was saved before: nothing is applied or recorded.
 */
export const kongCutoverStep: Step = {
  id: '4.2',
  title: 'Apply the Kong routing change (snapshot first) and record the cutover',
  async run(ctx, checkpoint) {
    const gateway = await ctx.services.kong();
    const { serviceUpstream, legacyService } = s4Options(ctx.options);
    let planned = checkpoint.cursor?.planned as KongConfig | undefined;
    // A cutover already in force for the tenant (a re-run after --restart-step) keeps its record: a second
    // snapshot would hold the cut-over routing, and rollback would then restore nothing.
    planned ??= activeCutover(await cutoverHistory(ctx.db.db, ctx.tenantId))?.appliedRouting ?? undefined;
    if (planned && ctx.options.dryRun) {
      // Planned by an earlier run (its apply failed, or a cutover is in force): show what applying would change.
      await logPlan(ctx, gateway, await gateway.snapshot(), planned);
      return;
    }
    if (!planned) {
      const previous = await gateway.snapshot();
      planned = planCutover(previous, { serviceUrl: serviceUpstream, newPathPrefix: NEW_PATH_PREFIX, legacyServiceName: legacyService });
      const changes = await logPlan(ctx, gateway, previous, planned);
      const record = [ctx.tenantId, JSON.stringify(previous), JSON.stringify(planned), ctx.options.asOf.toISOString(), operatorName()];
      await ctx.commit({
        cursor: { planned },
        read: 1,
        written: 1,
        facts: { gateway: gateway.description, changes },
        write: async (tx) => {
          await tx.query(
            `insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing, watermark, actor) values ($1, 'cutover', $2::jsonb, $3::jsonb, $4::timestamptz, $5)`,
            record,
          );
        },
      });
      // The engine wrote nothing (no snapshot recorded): applying now would leave rollback nothing to restore.
      if (ctx.options.dryRun) return;
    }
    // apply() reconciles to `planned`: doing it again after a crash between snapshot and apply is harmless.
    await gateway.apply(planned);
    // The gateway is recorded again: after --restart-step 4.2 the checkpoint holding it was reset.
    await ctx.commit({ cursor: { planned, applied: true }, read: 0, written: 0, facts: { gateway: gateway.description, applied: true } });
  },
};
