import { queryRows, type DatabaseHandle } from '@vc/schema';
import { Command } from 'commander';
import { sql } from 'drizzle-orm';
import type { MigratorConfig } from '../config';
import { assertKnownTenant, legacyTenantList } from '../engine/known-tenants';
import type { ServiceRegistry } from '../engine/services';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { rollbackCutover, type RollbackResult } from '../phases/s4/rollback-cutover';
import { stopOnSignals } from '../engine/stop-signals';
import { withCommandContext } from './context';
import type { Logger } from '../logger';

export type { RollbackResult };

const EXAMPLES = `
Examples:
  $ pnpm migrator rollback s4 --tenant acme --dry-run    # the routing it would restore
  $ pnpm migrator rollback s4 --tenant acme
  $ pnpm migrator rollback s4 --all-tenants              # every tenant cut over on this gateway, one routing change

SIGINT, SIGTERM or SIGHUP before the routing is changed stops with nothing applied (exit 1); once Kong is
changed the rollback is recorded before it stops. A second signal stops at once.`;

/**
 * Exit 2 for a `--tenant` that names no tenant: the legacy source's tenants when one is configured, as every
 * command checks them; otherwise (rollback needs only the target and Kong) the tenants the target holds state of.
 */
async function knownTenant(tenant: string, config: MigratorConfig, handle: DatabaseHandle, services: ServiceRegistry, log: Logger): Promise<void> {
  let why = 'no legacy source is configured';
  if (config.VC_LEGACY_DATABASE_URL || config.VC_LEGACY_EXPORT_DIR) {
    // A rollback is incident response: legacy being unreachable from here must not stop it, so its tenants are then
    // taken from the target's migration state, which is all a rollback acts on anyway.
    let listed: { tenants: string[]; description: string } | undefined;
    try {
      const legacy = await services.legacy();
      listed = { tenants: await legacyTenantList(legacy), description: legacy.description };
    } catch (error) {
      log.warn({ err: error }, 'the legacy source could not be read: the tenant is checked against the target instead');
    }
    if (listed) return assertKnownTenant(tenant, listed.tenants, listed.description);
    why = 'the legacy source could not be read';
  }
  const rows = await queryRows<{ tenant_id: string }>(
    handle.db,
    sql`select tenant_id from vc_migration.step_checkpoints where tenant_id <> '*' union select tenant_id from vc_migration.cutovers`,
  );
  assertKnownTenant(
    tenant,
    rows.map((r) => r.tenant_id),
    '',
    `the target (${why}, so its migration state)`,
  );
}

/**
 * Plan §4: the S4 Kong change is reversible. Restores the routing snapshotted before the cutover, records
 * a `rollback` per tenant (with the routing it replaced) and resets S4's steps so the phase can run again.
 * Routing is gateway-wide: a tenant is rolled back alone only while no other tenant's cutover is in force
 * on the same gateway; `--all-tenants` rolls them all back at once.
 */
export function makeRollbackCommand(): Command {
  return new Command('rollback')
    .description('undo a phase: s4 restores the Kong routing snapshotted before the cutover')
    .argument('<phase>', 's4 (phases 0-3 are additive: legacy keeps running, nothing to roll back)')
    .option('--tenant <id>', 'the tenant whose cutover to roll back')
    .option('--all-tenants', 'roll back the routing for every tenant whose cutover is in force on this gateway')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--force', 'roll back a tenant whose legacy was recorded as decommissioned (needs --reason)')
    .option('--reason <text>', 'why --force (kept as its sha256 and length: keep the text in the change ticket)')
    .option('--json', 'print one JSON result on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (phase: string, flags: { tenant?: string; allTenants?: boolean; dryRun?: boolean; force?: boolean; reason?: string; json?: boolean }) => {
      if (phase !== 's4') throw new ExitError(2, `rollback ${phase}: only s4 can be rolled back (phases 0-3 are additive; legacy keeps running)`);
      if (!flags.tenant && !flags.allTenants) throw new ExitError(2, 'rollback s4 needs --tenant <id> or --all-tenants');
      const input = {
        allTenants: flags.allTenants === true,
        dryRun: flags.dryRun === true,
        force: flags.force === true,
        ...(flags.tenant ? { tenant: flags.tenant } : {}),
        ...(flags.reason ? { reason: flags.reason } : {}),
      };
      // Safe point: before Kong is changed. Once it is, the rollback runs on until it is recorded: Kong restored
      // but unrecorded would leave the records saying cut over, and the next rollback would have nothing to restore.
      const stop = stopOnSignals(process.env, 'stopping before the routing is changed (a change already applied is recorded first)');
      let result: RollbackResult;
      try {
        result = await withCommandContext(async ({ handle, services, log, config }) =>
          rollbackCutover(
            { handle, gateway: await services.kong(), log, assertKnownTenant: (tenant) => knownTenant(tenant, config, handle, services, log) },
            input,
            stop.signal,
          ),
        );
      } finally {
        stop.dispose();
      }
      if (flags.json) printJson(result);
      else
        printText(
          `rollback s4 ${result.tenants.join(',') || result.tenant}: ${result.status}${result.changes.length ? `\n  ${result.changes.join('\n  ')}` : ''}`,
        );
    });
}
