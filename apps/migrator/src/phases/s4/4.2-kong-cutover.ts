import { diffKongConfig, formatKongDiff, planCutover, type KongConfig } from '@vc/integrations/kong';
import { userInfo } from 'node:os';
import type { Step } from '../../engine/types';
import { activeCutover, cutoverHistory } from './cutover-records';
import { NEW_PATH_PREFIX, s4Options } from './options';

/**
 * Plan S4: Kong forwards `/api/v1/virtual-care/*` to the new service and the legacy virtual-session
 * endpoints answer 301 to their new paths. The routing in force is snapshotted into `vc_migration.cutovers`
 * (committed) BEFORE anything is applied, so `migrator rollback s4` can always restore it. Routing is
 * gateway-wide: a tenant cut over after another finds it switched already, and records that.
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
    if (!planned) {
      const previous = await gateway.snapshot();
      planned = planCutover(previous, { serviceUrl: serviceUpstream, newPathPrefix: NEW_PATH_PREFIX, legacyServiceName: legacyService });
      const changes = diffKongConfig(previous, planned);
      ctx.log.info({ tenant: ctx.tenantId, gateway: gateway.description, changes: changes.length }, `Kong plan:\n${formatKongDiff(changes)}`);
      const record = [ctx.tenantId, JSON.stringify(previous), JSON.stringify(planned), ctx.options.asOf.toISOString(), actor()];
      await ctx.commit({
        cursor: { planned },
        read: 1,
        written: 1,
        facts: { gateway: gateway.description, changes: changes.map((c) => `${c.action} ${c.entity}`) },
        write: async (tx) => {
          await tx.query(
            `insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing, watermark, actor) values ($1, 'cutover', $2::jsonb, $3::jsonb, $4::timestamptz, $5)`,
            record,
          );
        },
      });
      if (ctx.options.dryRun) return;
    }
    // apply() reconciles to `planned`: doing it again after a crash between snapshot and apply is harmless.
    await gateway.apply(planned);
    await ctx.commit({ cursor: { planned, applied: true }, read: 0, written: 0, facts: { applied: true } });
  },
};

function actor(): string {
  try {
    return userInfo().username;
  } catch {
    // Containers without a passwd entry have no user name; the uid still identifies who ran it.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
