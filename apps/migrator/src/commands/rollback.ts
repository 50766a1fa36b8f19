import { Command } from 'commander';
import { diffKongConfig, formatKongDiff, type KongGateway } from '@vc/integrations/kong';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { SETTING_FORMS } from '../config';
import { loadCheckpoint } from '../engine/state';
import { queryOf } from '../engine/tx';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { activeCutover, cutoverHistory } from '../phases/s4/cutover-records';
import { withCommandContext } from './context';

export interface RollbackResult {
  phase: 's4';
  tenant: string;
  status: 'rolled_back' | 'would_roll_back' | 'nothing_to_roll_back';
  changes: string[];
}

const EXAMPLES = `
Examples:
  $ pnpm migrator rollback s4 --tenant acme --dry-run    # the routing it would restore
  $ pnpm migrator rollback s4 --tenant acme`;

function gatewayKind(description: string): string {
  return description.startsWith('admin:') ? 'the Kong Admin API of VC_KONG_ADMIN_URL' : 'a decK file (VC_KONG_FILE, default .data/kong.yaml)';
}

/**
 * The routing must be restored where the cutover applied it. Without VC_KONG_ADMIN_URL the gateway is the
 * default decK file: a rollback would "succeed" on a file while Kong stayed cut over. Step 4.2 recorded
 * its gateway; a different one now is a configuration error (exit 2) naming the variables.
 */
async function checkSameGateway(query: ReturnType<typeof queryOf>, tenant: string, gateway: KongGateway): Promise<void> {
  const recorded = (await loadCheckpoint(query, { tenantId: tenant, phase: 's4', stepId: '4.2' }))?.facts.gateway;
  if (typeof recorded !== 'string' || recorded === gateway.description) return;
  const now = gatewayKind(gateway.description);
  const then = gatewayKind(recorded);
  throw new ExitError(
    2,
    `the cutover of tenant ${tenant} was applied through ${then}; this run would restore ${then === now ? 'a different one' : now}. ` +
      `Set VC_KONG_ADMIN_URL (expected ${SETTING_FORMS.VC_KONG_ADMIN_URL}) or VC_KONG_FILE (expected ${SETTING_FORMS.VC_KONG_FILE}) as they were for \`migrator phase s4\``,
  );
}

/**
 * Plan §4: the S4 Kong change is reversible. Restores the routing snapshotted before the tenant's cutover,
 * records a `rollback` (with the routing it replaced), and resets S4's cutover step so the phase can run
 * again. Without a cutover in force it changes nothing and says so.
 */
export function makeRollbackCommand(): Command {
  return new Command('rollback')
    .description('undo a phase: s4 restores the Kong routing snapshotted before the cutover')
    .argument('<phase>', 's4 (phases 0-3 are additive: legacy keeps running, nothing to roll back)')
    .requiredOption('--tenant <id>', 'the tenant whose cutover to roll back')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--json', 'print one JSON result on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (phase: string, flags: { tenant: string; dryRun?: boolean; json?: boolean }) => {
      if (phase !== 's4') throw new ExitError(2, `rollback ${phase}: only s4 can be rolled back (phases 0-3 are additive; legacy keeps running)`);
      const result = await withCommandContext(async ({ handle, services, log }): Promise<RollbackResult> => {
        const active = activeCutover(await cutoverHistory(handle.db, flags.tenant));
        if (!active?.previousRouting) return { phase: 's4', tenant: flags.tenant, status: 'nothing_to_roll_back', changes: [] };
        const gateway = await services.kong();
        await checkSameGateway(queryOf(handle), flags.tenant, gateway);
        const current = await gateway.snapshot();
        const changes = diffKongConfig(current, active.previousRouting);
        log.info({ tenant: flags.tenant, gateway: gateway.description }, `rollback plan:\n${formatKongDiff(changes)}`);
        const summary = changes.map((c) => `${c.action} ${c.entity}`);
        if (flags.dryRun) return { phase: 's4', tenant: flags.tenant, status: 'would_roll_back', changes: summary };
        await gateway.apply(active.previousRouting);
        await queryRows(
          handle.db,
          sql`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing, reason)
              values (${flags.tenant}, 'rollback', ${JSON.stringify(current)}::jsonb, ${JSON.stringify(active.previousRouting)}::jsonb, ${`rolls back cutover ${active.id}`}) returning id`,
        );
        await queryRows(handle.db, sql`delete from vc_migration.step_checkpoints where tenant_id = ${flags.tenant} and phase = 's4' and step_id = '4.2' returning step_id`);
        return { phase: 's4', tenant: flags.tenant, status: 'rolled_back', changes: summary };
      });
      if (flags.json) printJson(result);
      else printText(`rollback s4 ${result.tenant}: ${result.status}${result.changes.length ? `\n  ${result.changes.join('\n  ')}` : ''}`);
    });
}
