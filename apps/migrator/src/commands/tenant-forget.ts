import { hostname, userInfo } from 'node:os';
import { Command } from 'commander';
import { lockEveryPhase } from '../engine/lock';
import { Interrupted, stopOnSignals } from '../engine/stop-signals';
import { PHASE_IDS } from '../phases';
import { withTransaction } from '../engine/tx';
import { freeTextDigest } from '../ledger/canonical';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { withCommandContext } from './context';
import { deleteTenantState, forgetBlockers, recordForget } from './tenant-forget-store';

/**
 * `migrator tenant forget <tenant> --reason "…"`: removes the migration state of a tenant that should
 * not have any (a mistyped `--tenant` of an older release): its checkpoints, rejects, id map, runs and validate verdicts in
 * vc_migration. It never touches a service row: a tenant with migrated sessions, a cutover or backfilled
 * Encounters is refused, since forgetting its id map would make the next run migrate it twice.
 * Who and why is kept as a run row of phase `forget`, which `status` lists.
 */
export function actor(): string {
  return `${userInfo().username}@${hostname()}`;
}

export function makeForgetCommand(): Command {
  return new Command('forget')
    .description("remove a tenant's migration state (checkpoints, rejects, id map, runs; never service rows), recording who and why")
    .argument('<tenant>', 'the tenant id to forget')
    .requiredOption('--reason <text>', 'why (kept with who ran it as its sha256 and length only: keep the text in the change ticket)')
    .option('--json', 'print what was removed as JSON on stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pnpm migrator tenant forget acmee --reason "typo of acme in an s1 run"\n\n' +
        'SIGINT, SIGTERM or SIGHUP before the removal commits rolls it back: nothing removed or recorded (exit 1); run it again.',
    )
    .action(async (tenant: string, flags: { reason: string; json?: boolean }) => {
      if (!flags.reason.trim()) throw new ExitError(2, '--reason must say why the tenant is forgotten');
      // One transaction removes the state and records the forget: a stop request before its commit rolls it all
      // back (a tenant is never half forgotten, nor forgotten unrecorded); the commit itself is not interrupted.
      const stop = stopOnSignals(process.env, 'stopping: the removal is rolled back, nothing is removed or recorded');
      const stopHere = () => {
        if (stop.signal.aborted)
          throw new Interrupted(`tenant forget interrupted (${(stop.signal.reason as Error).message}): nothing removed, nothing recorded; run it again`);
      };
      const result = await withCommandContext(async ({ handle }) => {
        // Under every phase lock of the tenant, checked and removed: a run that started after the check would
        // otherwise commit sessions whose id map this then deletes, and the next run would migrate them twice.
        const lock = await lockEveryPhase(handle, tenant, PHASE_IDS);
        try {
          const found = await forgetBlockers(handle.db, tenant);
          if (found.length)
            throw new ExitError(
              2,
              `tenant ${tenant} is not forgotten: it has ${found.join(', ')}; forget only removes state of a tenant that was never really migrated`,
            );
          // The reason may name someone: what is kept (and said) is its digest; the text is the change ticket's.
          const reason = freeTextDigest(flags.reason);
          const removed = await withTransaction(handle, async (tx) => {
            const removed = await deleteTenantState(tx.db, tenant, stopHere);
            await recordForget(tx.db, tenant, { reason, actor: actor() }, { removed });
            stopHere();
            return removed;
          });
          return { tenant, removed, reason, actor: actor() };
        } finally {
          await lock.release();
        }
      }).finally(() => stop.dispose());
      if (flags.json) printJson(result);
      else
        printText(
          `tenant ${tenant} forgotten (${Object.entries(result.removed)
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')}); recorded as ${result.actor}, reason ${result.reason}`,
        );
    });
}
