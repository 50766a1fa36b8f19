import { Command, Option } from 'commander';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { writeStderr } from '../terminal';
import { NEEDS_NATS, openWorkQueue } from '../scale/queue';
import { runWorker } from '../scale/worker';
import { withCommandContext } from './context';
import { positiveInt } from './run-options';

const EXAMPLES = `
Examples:
  $ pnpm migrator worker                      # one item at a time, until SIGTERM
  $ pnpm migrator worker --concurrency 2 --json

SIGTERM, SIGINT or SIGHUP drains: the running step commits its batch and checkpoints, the item goes back for
immediate redelivery, and the worker exits 0 (1 when it recorded an item failed for good). A second
signal stops at once; a killed worker's item goes to another worker after the consumer's AckWait.`;

/** `migrator worker`: pulls items of distributed plans from VC_MIGRATION_WORK and runs them through the step engine. */
export function makeWorkerCommand(): Command {
  return new Command('worker')
    .description('run work items of enqueued plans (any number of workers, on any number of machines)')
    .addOption(new Option('--concurrency <n>', 'items run at once by this process').default('1'))
    .addOption(new Option('--max-attempts <n>', 'step failures of an item before it is recorded failed and terminated').default('3'))
    .addOption(
      new Option(
        '--retry-delay <seconds>',
        "redelivery delay after a retryable failure or a lock held elsewhere (an item waiting for its split tenant's other items: at most 2 s)",
      ).default('5'),
    )
    .addOption(new Option('--poll <seconds>', 'how long one pull waits for work').default('5'))
    .option('--json', 'print one JSON summary on stdout at exit')
    .addHelpText('after', EXAMPLES)
    .action(async (raw: { concurrency: string; maxAttempts: string; retryDelay: string; poll: string; json?: boolean }) => {
      const opts = {
        concurrency: positiveInt('--concurrency', raw.concurrency),
        maxAttempts: positiveInt('--max-attempts', raw.maxAttempts),
        retryDelayMs: positiveInt('--retry-delay', raw.retryDelay) * 1000,
        pollMs: positiveInt('--poll', raw.poll) * 1000,
      };
      const stop = new AbortController();
      // SIGHUP too: a worker started from a terminal that closes (an ssh session dropped) drains like under a supervisor.
      const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      const forget = () => {
        for (const name of signals) process.off(name, onSignal);
      };
      function onSignal(name: NodeJS.Signals) {
        writeStderr(`${name}: draining (the running batch commits, the item goes back to the queue). Send again to stop at once.\n`);
        stop.abort(new Error(name));
        forget();
      }
      for (const name of signals) process.once(name, onSignal);
      try {
        const summary = await withCommandContext(
          async (ctx) => {
            const queue = await openWorkQueue(ctx.config);
            try {
              await queue.ensure();
              ctx.log.info({ concurrency: opts.concurrency }, 'worker ready');
              return await runWorker(ctx, queue, { ...opts, signal: stop.signal });
            } finally {
              await queue.close();
            }
          },
          [NEEDS_NATS],
        );
        if (raw.json) printJson({ status: 'stopped', ...summary });
        else
          printText(
            `worker ${summary.worker.host}:${summary.worker.pid} stopped: ${summary.done} done, ${summary.requeued} handed back, ${summary.failed} failed`,
          );
        if (summary.failed > 0) throw new ExitError(1, `${summary.failed} item(s) failed for good; see \`migrator plan status <id>\``);
      } finally {
        forget();
      }
    });
}
