import { Command } from 'commander';
import { listCheckpoints } from '../engine/state';
import { queryOf } from '../engine/tx';
import { printJson, printText } from '../output';
import { loadAllPhases } from '../phases';
import { planSummaries, planSummaryLines } from '../scale/plan-status';
import { withCommandContext } from './context';
import { withPendingSteps } from './status-rows';

const EXAMPLES = `
Examples:
  $ pnpm migrator status
  $ pnpm migrator status --tenant acme --json`;

/** `migrator status`: every tenant × phase × step with its state (pending where nothing ran yet), counts and timings. */
export function makeStatusCommand(): Command {
  return new Command('status')
    .description('show every tenant × phase × step: status, counts, timings (no PHI)')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const [saved, plans] = await withCommandContext(({ handle }) => Promise.all([listCheckpoints(queryOf(handle), opts.tenant), planSummaries(queryOf(handle))]));
      const rows = saved.length === 0 ? [] : withPendingSteps(saved, await loadAllPhases(), opts.tenant);
      const steps = rows.map((r) => ({
        tenant: r.tenantId,
        phase: r.phase,
        step: r.stepId,
        status: r.status,
        read: r.read,
        written: r.written,
        rejected: r.rejected,
        deferred: r.deferred,
        warnings: r.warnings,
        durationMs: r.durationMs,
        startedAt: r.startedAt?.toISOString() ?? null,
        finishedAt: r.finishedAt?.toISOString() ?? null,
        ...(r.error ? { error: r.error } : {}),
      }));
      if (opts.json) return printJson({ steps, ...(plans.length ? { plans } : {}) });
      if (steps.length === 0) return printText('no migration state yet (run `migrator phase s0`, then `migrator phase s1 --tenant <id>`)');
      const header = ['tenant', 'phase', 'step', 'status', 'read', 'written', 'rejected', 'deferred', 'warnings', 'ms', 'finished'];
      const table = steps.map((s) => [s.tenant, s.phase, s.step, s.status, s.read, s.written, s.rejected, s.deferred, Object.values(s.warnings).reduce((a, b) => a + b, 0), s.durationMs, s.finishedAt ?? '-'].map(String));
      const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      printText([line(header), ...table.map(line), ...steps.filter((s) => s.error).map((s) => `${s.tenant} ${s.phase} ${s.step}: ${s.error}`), ...planSummaryLines(plans)].join('\n'));
    });
}
