import { REJECT_REASONS } from '@vc/domain/legacy';
import { Command } from 'commander';
import { listRejects, rejectReasonCounts } from '../engine/store/rejects';
import { ExitError } from '../exit-error';
import { printJson, printText } from '../output';
import { isPhaseId, PHASE_IDS } from '../phases';
import { withCommandContext } from './context';
import { positiveInt } from './run-options';

const EXAMPLES = `
Examples:
  $ pnpm migrator rejects --tenant acme
  $ pnpm migrator rejects --tenant acme --reason orphan_event --json
  $ pnpm migrator rejects --tenant acme --reason missing_patient --with-raw-rows   # prints PHI

By default only legacy keys, steps and reasons are shown: the raw legacy rows hold patient references
and names, so they are printed only with --with-raw-rows, for an operator entitled to see them.`;

/** `migrator rejects --tenant X [--reason R]`: which legacy rows were not loaded, and why. */
export function makeRejectsCommand(): Command {
  return new Command('rejects')
    .description('list rejected legacy rows of a tenant: legacy key, step, reason (raw rows only with --with-raw-rows)')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--reason <code>', `only this reason code (${REJECT_REASONS.join(', ')})`)
    .option('--phase <id>', 'only this phase')
    .option('--limit <n>', 'at most this many rows', '1000')
    .option('--with-raw-rows', 'include the raw legacy rows (contain PHI: patient refs, names)')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { tenant: string; reason?: string; phase?: string; limit: string; withRawRows?: boolean; json?: boolean }) => {
      const limit = positiveInt('--limit', opts.limit);
      // An unknown code would match nothing and print an empty list: "no rejects" for a typo.
      if (opts.reason !== undefined && !(REJECT_REASONS as readonly string[]).includes(opts.reason))
        throw new ExitError(2, `--reason expects one of ${REJECT_REASONS.join(', ')}, got "${opts.reason}"`);
      if (opts.phase !== undefined && !isPhaseId(opts.phase)) throw new ExitError(2, `--phase expects one of ${PHASE_IDS.join(', ')}, got "${opts.phase}"`);
      const { rows, byReason } = await withCommandContext(async ({ handle }) => {
        const filter = { tenantId: opts.tenant, reason: opts.reason, phase: opts.phase };
        return {
          rows: await listRejects(handle.db, filter, limit, opts.withRawRows === true),
          byReason: await rejectReasonCounts(handle.db, filter),
        };
      });
      const items = rows.map((r) => ({
        phase: r.phase,
        step: r.stepId,
        legacyKey: r.legacyKey,
        reason: r.reason,
        detail: r.detail,
        ...(opts.withRawRows ? { raw: r.raw ?? null } : {}),
      }));
      if (opts.json) return printJson({ tenant: opts.tenant, counts: byReason, rejects: items, rawRowsIncluded: opts.withRawRows === true });
      const lines = [`rejects of ${opts.tenant}: ${JSON.stringify(byReason)}`];
      for (const r of items) lines.push(`  ${r.phase} ${r.step} ${r.reason.padEnd(26)} ${r.legacyKey}${opts.withRawRows ? ` ${JSON.stringify(r.raw)}` : ''}`);
      if (!opts.withRawRows && items.length) lines.push('(raw legacy rows hidden: they contain PHI; add --with-raw-rows to print them)');
      printText(lines.join('\n'));
    });
}
