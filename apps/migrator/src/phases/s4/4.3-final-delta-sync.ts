import type { Step } from '../../engine/types';
import { runDeltaSync } from './4.1-delta-sync';
import { routingDrift } from './cutover-gateway';
import { activeCutover } from './cutover-records';
import { cutoverHistory, requireRouting } from './cutover-store';

/**
 * Step 4.3: legacy took writes until Kong answered 301 for it, after 4.1 had read it. Once the cut-over
 * routing is in force (checked against the gateway), the same delta sync runs again and catches them; for
 * what 4.1 already synced it changes nothing (upserts keep the newer version, billing is keyed by legacy
 * id, participants are refolded from legacy and only differences written, rejects already recorded are not
 * repeated) and reports 0 written.
 */
export const finalDeltaSyncStep: Step = {
  id: '4.3',
  title: 'Final delta sync after cutover (legacy answers 301)',
  async run(ctx, checkpoint) {
    // A dry run applied nothing in 4.2: it reports what the sync would load now.
    if (!ctx.options.dryRun && checkpoint.cursor === null) {
      const active = activeCutover(await cutoverHistory(ctx.db.db, ctx.tenantId));
      // A cut-over routing that cannot be read is refused by name, not taken for "no cutover recorded".
      const drift = active
        ? routingDrift(await (await ctx.services.kong()).snapshot(), requireRouting(active, 'appliedRouting', ctx.tenantId))
        : ['no cutover recorded'];
      if (drift.length > 0) {
        throw new Error(
          `tenant ${ctx.tenantId}: the cut-over routing is not in force (${drift.slice(0, 5).join('; ')}), so legacy may still take writes; re-run step 4.2 (--restart-step 4.2) first`,
        );
      }
    }
    await runDeltaSync(ctx, checkpoint, { final: true });
  },
};
