import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import { queryOf, withTransaction } from '../engine/tx';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { withCommandContext } from './context';

/**
 * `migrator tenant forget <tenant> --reason "…"`: removes the migration state of a tenant that should
 * not have any (a mistyped `--tenant` of an older release): its checkpoints, rejects, id map, runs and validate verdicts in
 * vc_migration. It never touches a service row: a tenant with migrated sessions, a cutover or backfilled
 * Encounters is refused, since forgetting its id map would make the next run migrate it twice.
 * Who and why is kept as a run row of phase `forget`, which `status` lists.
 */
const STATE_TABLES = ['step_checkpoints', 'rejects', 'id_map', 'runs', 'validations'] as const;

const BLOCKERS: ReadonlyArray<{ what: string; sql: string }> = [
  { what: 'migrated sessions (virtual_sessions)', sql: `select count(*)::int as n from virtual_sessions where tenant_id = $1` },
  { what: 'tenant configurations (tenant_virtual_care_configs)', sql: `select count(*)::int as n from tenant_virtual_care_configs where tenant_id = $1` },
  { what: 'S4 routing changes (vc_migration.cutovers)', sql: `select count(*)::int as n from vc_migration.cutovers where tenant_id = $1` },
  {
    what: 'backfilled Encounters (vc_migration.encounter_backfills)',
    sql: `select count(*)::int as n from vc_migration.encounter_backfills where tenant_id = $1`,
  },
  {
    what: 'a running step (vc_migration.step_checkpoints)',
    sql: `select count(*)::int as n from vc_migration.step_checkpoints where tenant_id = $1 and status = 'running'`,
  },
];

export function actor(): string {
  return `${userInfo().username}@${hostname()}`;
}

export function makeForgetCommand(): Command {
  return new Command('forget')
    .description("remove a tenant's migration state (checkpoints, rejects, id map, runs; never service rows), recording who and why")
    .argument('<tenant>', 'the tenant id to forget')
    .requiredOption('--reason <text>', 'why (kept with who ran it)')
    .option('--json', 'print what was removed as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  $ pnpm migrator tenant forget acmee --reason "typo of acme in an s1 run"')
    .action(async (tenant: string, flags: { reason: string; json?: boolean }) => {
      if (!flags.reason.trim()) throw new ExitError(2, '--reason must say why the tenant is forgotten');
      const result = await withCommandContext(async ({ handle }) => {
        const query = queryOf(handle);
        const found: string[] = [];
        for (const blocker of BLOCKERS) if ((await query<{ n: number }>(blocker.sql, [tenant]))[0]!.n > 0) found.push(blocker.what);
        if (found.length)
          throw new ExitError(
            2,
            `tenant ${tenant} is not forgotten: it has ${found.join(', ')}; forget only removes state of a tenant that was never really migrated`,
          );
        const removed: Record<string, number> = {};
        await withTransaction(handle, async (tx) => {
          for (const table of STATE_TABLES)
            removed[table] = (
              await tx.query<{ n: number }>(`with d as (delete from vc_migration.${table} where tenant_id = $1 returning 1) select count(*)::int as n from d`, [
                tenant,
              ])
            )[0]!.n;
          await tx.query(
            `insert into vc_migration.runs (tenant_id, phase, status, options, summary, finished_at) values ($1, 'forget', 'done', $2, $3, now())`,
            [tenant, JSON.stringify({ reason: flags.reason, actor: actor() }), JSON.stringify({ removed })],
          );
        });
        return { tenant, removed, reason: flags.reason, actor: actor() };
      });
      if (flags.json) printJson(result);
      else
        printText(
          `tenant ${tenant} forgotten (${Object.entries(result.removed)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')}); recorded as ${result.actor}: ${result.reason}`,
        );
    });
}
