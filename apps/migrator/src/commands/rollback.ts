import { Command } from 'commander';
import { diffKongConfig, formatKongDiff } from '@vc/integrations/kong';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
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
