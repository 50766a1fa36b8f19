import { Command } from 'commander';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { planItems } from '../scale/plan-status';
import { withCommandContext } from './context';

const EXAMPLES = `
Examples:
  $ pnpm migrator plan status s1-3f2a9c0d1e4b5a6c
  $ pnpm migrator plan status s1-3f2a9c0d1e4b5a6c --json

Exit 0 when every item is done, 1 otherwise (queued, running or failed), so a script can wait on it.`;

/** `migrator plan status <id>`: each item of a distributed plan, from PostgreSQL (JetStream only carries the work). */
export function makePlanCommand(): Command {
  const plan = new Command('plan').description('distributed plans made by `migrator enqueue`').addHelpText('after', EXAMPLES);
  plan
    .command('status')
    .description('per item: queued, running on which worker (host:pid, heartbeat age), done, failed with reason')
    .argument('<id>', 'the plan id `migrator enqueue` printed')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (id: string, opts: { json?: boolean }) => {
      const items = await withCommandContext(({ handle }) => planItems(handle.db, id));
      if (items.length === 0) throw new ExitError(2, `no plan ${JSON.stringify(id)} in the target database (\`migrator status\` lists the plans)`);
      const done = items.every((i) => i.status === 'done');
      if (opts.json) printJson({ plan: id, status: done ? 'done' : 'open', items });
      else {
        const rows = items.map((i) =>
          [
            i.item,
            i.waitingFor ? `queued (waits for ${i.waitingFor})` : i.status,
            i.worker ?? '-',
            i.heartbeatAgeS === null ? '-' : `${i.heartbeatAgeS}s`,
            String(i.attempts),
            i.error ?? '',
          ].map(String),
        );
        const header = ['item', 'status', 'worker', 'heartbeat', 'attempts', 'error'];
        const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
        printText(
          [header, ...rows]
            .map((r) =>
              r
                .map((cell, c) => cell.padEnd(widths[c]!))
                .join('  ')
                .trimEnd(),
            )
            .join('\n'),
        );
      }
      if (!done) throw new ExitError(1, `plan ${id} is not done yet (${items.filter((i) => i.status !== 'done').length} of ${items.length} items open)`);
    });
  return plan;
}
