import { Command, Option } from 'commander';
import { legacyTenantList, tenantsFromLegacy } from '../engine/known-tenants';
import { Interrupted, stopOnSignals, untilStopped } from '../engine/stop-signals';
import { withTransaction } from '../engine/tx';
import { ExitError } from '../exit-error';
import { enforcePhaseGates } from '../gates/enforce';
import { parseOverride } from '../gates/override';
import { printJson, printText } from '../output';
import { loadPhase } from '../phases';
import { itemCount, markPublished, splitTenantsOf, unpublished } from '../scale/item-state';
import { makePlan, planId, savePlan, type PlanOptions } from '../scale/plan';
import { planExists } from '../scale/plan-store';
import { cutTenants } from '../scale/split';
import { NEEDS_NATS, openWorkQueue } from '../scale/queue';
import { withCommandContext } from './context';
import { parseAsOf, positiveInt } from './run-options';

const EXAMPLES = `
Examples:
  $ pnpm migrator enqueue phase s1 --all-tenants --as-of 2026-11-01T00:00:00Z
  $ pnpm migrator enqueue phase s1 --all-tenants --json      # prints {"planId": …}
  $ pnpm migrator enqueue phase s1 --all-tenants --split-larger-than 200000
  $ pnpm migrator worker --concurrency 2                     # on each machine
  $ pnpm migrator plan status <plan-id>

Gates as for \`migrator phase\` (s3 needs s1 done for every tenant of the plan): a refusal is exit 2,
naming the gate and the command that clears it; --force --reason "<why>" overrides, recorded in the ledger.

--split-larger-than N (s1, legacy database only) cuts a tenant with more than N VirtualSession or AuditLog
rows into key ranges of about N rows: steps 1.1 and then 1.4 run range by range on any worker, and the
tenant's last item merges them and runs the rest of s1. The target equals a single run's.

The plan id is a hash of the phase, the tenants and the options: the same command again is the same plan
and publishes nothing new. Items already published are not published again (PostgreSQL records it), and
JetStream de-duplicates by Nats-Msg-Id within its window besides.

SIGINT, SIGTERM or SIGHUP stops before the plan is stored (the plan and its items are stored together) or
between items, once the item in hand is published and marked: exit 1 saying how many are published; the same
command publishes the rest. A second signal stops at once.`;

interface RawEnqueue {
  allTenants?: boolean;
  tenant?: string[];
  asOf?: string;
  batchSize: string;
  concurrency: string;
  maxRejectRate: string;
  ackWait: string;
  splitLargerThan?: string;
  force?: boolean;
  reason?: string;
  json?: boolean;
}

/** `migrator enqueue phase <id> --all-tenants`: stores a plan in PostgreSQL and publishes its items on VC_MIGRATION_WORK. */
export function makeEnqueueCommand(): Command {
  return new Command('enqueue')
    .description('publish a phase as work items for `migrator worker` processes on any number of machines')
    .argument('<what>', 'phase')
    .argument('<phase>', 'the phase to distribute (s1, s3)')
    .option('--all-tenants', 'every tenant the legacy source has')
    .option('--tenant <id...>', 'these tenants only')
    .option('--as-of <iso>', 'as in `migrator phase` (default: when the plan is first made, stored with it)')
    .addOption(new Option('--batch-size <n>', 'legacy rows per batch').default('10000'))
    .addOption(new Option('--concurrency <n>', 'concurrent outside calls within an item').default('4'))
    .addOption(new Option('--max-reject-rate <fraction>', 'fail a step whose rejected/read exceeds this').default('0.01'))
    .addOption(
      new Option(
        '--ack-wait <seconds>',
        'how long an item may go without a heartbeat before another worker takes it (set when the consumer is created)',
      ).default('30'),
    )
    .option(
      '--split-larger-than <rows>',
      's1 only, legacy database only: cut a tenant with more than this many VirtualSession or AuditLog rows into key ranges of about as many rows, run by several workers at once',
    )
    .option('--force', 'enqueue past a failing phase gate (s3 needs s1 done); needs --reason, recorded in the run ledger')
    .option('--reason <text>', 'why --force runs past a gate; recorded as its sha256 and length only: keep the text in the change ticket')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (what: string, phaseId: string, raw: RawEnqueue) => {
      if (what !== 'phase') throw new ExitError(2, `enqueue expects \`phase <id>\`, got ${JSON.stringify(what)}`);
      const phase = await loadPhase(phaseId);
      const splitLargerThan = raw.splitLargerThan === undefined ? undefined : positiveInt('--split-larger-than', raw.splitLargerThan);
      if (splitLargerThan !== undefined && phase.id !== 's1')
        throw new ExitError(2, `--split-larger-than: only s1 is split into key ranges (its steps 1.1 and 1.4 read legacy in key order), not ${phase.id}`);
      if (phase.global || (phase.flags?.length ?? 0) > 0)
        throw new ExitError(
          2,
          `phase ${phase.id} cannot be distributed (${phase.global ? 'it runs once for the platform' : 'it takes flags of its own'}); run \`migrator phase ${phase.id}\``,
        );
      if (Boolean(raw.allTenants) === Boolean(raw.tenant?.length)) throw new ExitError(2, 'give either --tenant <id…> or --all-tenants');
      const rate = Number(raw.maxRejectRate);
      if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(raw.maxRejectRate) || rate > 1)
        throw new ExitError(2, `--max-reject-rate must be a fraction between 0 and 1, got ${JSON.stringify(raw.maxRejectRate)}`);
      const options: PlanOptions = {
        asOf: raw.asOf === undefined ? null : parseAsOf(raw.asOf, new Date()).toISOString(),
        batchSize: positiveInt('--batch-size', raw.batchSize),
        concurrency: positiveInt('--concurrency', raw.concurrency),
        maxRejectRate: rate,
        ...(splitLargerThan === undefined ? {} : { splitLargerThan }),
      };
      const ackWaitMs = positiveInt('--ack-wait', raw.ackWait) * 1000;
      const override = parseOverride(raw);
      // Safe points: before the plan is stored (what runs before only reads), and between items once it is: an item
      // is published, then marked published, and the next one is not started. The plan and its items are stored
      // in one transaction, so a plan is never stored without all its items.
      const stop = stopOnSignals(process.env, 'stopping after the item being published (the rest stay unpublished; run it again to publish them)');
      const interrupted = (done: string) =>
        new Interrupted(`enqueue interrupted (${(stop.signal.reason as Error).message}): ${done}; run the same command again to publish the rest`);
      const result = await withCommandContext(
        async ({ config, handle, services }) => {
          // Tenants are what legacy says, as for `migrator phase`: a typo is exit 2 before anything is published.
          const legacy = await services.legacy();
          const tenants = await tenantsFromLegacy(legacy, raw.tenant, phase.id);
          // The same gates as `migrator phase`, checked once for the whole plan before anything is published.
          await enforcePhaseGates({
            db: handle.db,
            phase: phase.id,
            tenants,
            override,
            knownTenants: async () => legacyTenantList(legacy),
            command: `enqueue phase ${phase.id}`,
          });
          if (splitLargerThan !== undefined && !legacy.ranges)
            throw new ExitError(
              2,
              `--split-larger-than needs the legacy database (VC_LEGACY_DATABASE_URL): ${legacy.description} cannot be read by key range, so each tenant stays one item`,
            );
          const queue = await openWorkQueue(config, ackWaitMs);
          try {
            await queue.ensure();
            const id = planId(phase.id, tenants, options);
            // Key ranges are cut once, when the plan is first made; the same command again reuses its items.
            const splits =
              splitLargerThan !== undefined && !(await planExists(handle.db, id))
                ? await untilStopped(cutTenants(handle.db, legacy.ranges!, tenants, splitLargerThan), stop.signal, () => interrupted('no plan stored').message)
                : undefined;
            const plan = makePlan(phase.id, tenants, options, queue.subject, splits);
            if (stop.signal.aborted) throw interrupted('no plan stored');
            const stored = await withTransaction(handle, (tx) => savePlan(tx.db, plan, options, new Date()));
            let published = 0;
            let duplicates = 0;
            const pending = await unpublished(handle.db, plan.id);
            for (const item of pending) {
              if (stop.signal.aborted) {
                const items = await itemCount(handle.db, plan.id);
                throw interrupted(`plan ${plan.id} stored, ${items - (pending.length - published - duplicates)} of ${items} items published`);
              }
              const payload = new TextEncoder().encode(JSON.stringify({ planId: plan.id, itemKey: item.itemKey, phase: phase.id, tenantId: item.tenantId }));
              const ack = await queue.publish(item.subject, payload, item.msgId);
              await markPublished(handle.db, plan.id, item.itemKey);
              if (ack.duplicate) duplicates += 1;
              else published += 1;
            }
            const items = await itemCount(handle.db, plan.id);
            const splitTenants = await splitTenantsOf(handle.db, plan.id);
            return {
              planId: plan.id,
              phase: phase.id,
              items,
              published,
              duplicates,
              asOf: stored.asOf,
              ...(splitTenants.length ? { splitTenants } : {}),
            };
          } finally {
            await queue.close();
          }
        },
        [NEEDS_NATS, ...(phase.requires ?? [])],
      ).finally(() => stop.dispose());
      if (raw.json) printJson(result);
      else
        printText(
          `plan ${result.planId}: ${result.items} items, ${result.published} published${result.duplicates ? `, ${result.duplicates} already on the queue` : ''} (as-of ${result.asOf})${
            result.splitTenants?.length ? `; split into key ranges: ${result.splitTenants.join(', ')}` : ''
          }\n${result.planId}`,
        );
    });
}
