import { Command } from 'commander';
import { queryOf } from '../engine/tx';
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

interface RejectRow {
  phase: string;
  step_id: string;
  legacy_key: string;
  reason: string;
  detail: string | null;
  raw?: Record<string, unknown> | null;
  created_at: Date;
}

/** `migrator rejects --tenant X [--reason R]`: which legacy rows were not loaded, and why. */
export function makeRejectsCommand(): Command {
  return new Command('rejects')
    .description('list rejected legacy rows of a tenant: legacy key, step, reason (raw rows only with --with-raw-rows)')
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--reason <code>', 'only this reason code')
    .option('--phase <id>', 'only this phase')
    .option('--limit <n>', 'at most this many rows', '1000')
    .option('--with-raw-rows', 'include the raw legacy rows (contain PHI: patient refs, names)')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { tenant: string; reason?: string; phase?: string; limit: string; withRawRows?: boolean; json?: boolean }) => {
      const limit = positiveInt('--limit', opts.limit);
      if (opts.phase !== undefined && !isPhaseId(opts.phase)) throw new ExitError(2, `--phase expects one of ${PHASE_IDS.join(', ')}, got "${opts.phase}"`);
      const { rows, counts } = await withCommandContext(async ({ handle }) => {
        const query = queryOf(handle);
        const params: unknown[] = [opts.tenant];
        let where = 'tenant_id = $1';
        if (opts.reason) where += ` and reason = $${params.push(opts.reason)}`;
        if (opts.phase) where += ` and phase = $${params.push(opts.phase)}`;
        const columns = `phase, step_id, legacy_key, reason, detail, created_at${opts.withRawRows ? ', raw' : ''}`;
        return {
          rows: await query<RejectRow>(
            `select ${columns} from vc_migration.rejects where ${where} order by phase, step_id, reason, legacy_key limit ${limit}`,
            params,
          ),
          counts: await query<{ reason: string; n: number }>(
            `select reason, count(*)::int as n from vc_migration.rejects where ${where} group by reason order by reason`,
            params,
          ),
        };
      });
      const byReason = Object.fromEntries(counts.map((c) => [c.reason, c.n]));
      const items = rows.map((r) => ({
        phase: r.phase,
        step: r.step_id,
        legacyKey: r.legacy_key,
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
