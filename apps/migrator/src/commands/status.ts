import { Command } from 'commander';
import type { Database } from '@vc/schema';
import { assertKnownTenant, legacyTenantList } from '../engine/known-tenants';
import type { ServiceRegistry } from '../engine/services';
import { listCheckpoints, runsById } from '../engine/state';
import { tenantGateFacts } from '../gates/facts';
import { printJson, printText } from '../output';
import { loadAllPhases } from '../phases';
import { planSummaries, planSummaryLines } from '../scale/plan-status';
import type { MigratorConfig } from '../config';
import { withCommandContext } from './context';
import { livenessOf } from './status-liveness';
import { factLines, rollupOf, type ShownStep, type TenantRollup } from './status-rollup';
import { withPendingSteps, type StatusRow } from './status-rows';

const EXAMPLES = `
Examples:
  $ pnpm migrator status
  $ pnpm migrator status --tenant acme --json

First one line per tenant: where it stands in the pipeline (done, running with pid, host and heartbeat age,
stale when the heartbeat stopped or the pid is gone, blocked at the failed step with its error, waiting for a
gate with the command that clears it, ready for the next phase); then every step, then the steps' facts.
Every tenant is every legacy tenant (one not started yet is "ready for s1") and any other with migration state;
without a readable legacy source only those with state, and a note says so.`;

/** The run behind each `running` checkpoint, to tell a live step from a dead or interrupted one. */
async function shownSteps(db: Database, rows: readonly StatusRow[]): Promise<Array<ShownStep & { row: StatusRow }>> {
  const runs = await runsById(db, [...new Set(rows.filter((r) => r.status === 'running' && r.runId).map((r) => r.runId!))]);
  return rows.map((row) => {
    const base = { tenant: row.tenantId, phase: row.phase, step: row.stepId, row };
    if (row.status === 'running') {
      const run = livenessOf(row.runId ? runs.get(row.runId) : undefined);
      return { ...base, status: run.state, run };
    }
    // Only a failed step carries its error: one that succeeded since shows none.
    return { ...base, status: row.status, ...(row.status === 'failed' && row.error ? { error: row.error } : {}) };
  });
}

/** Legacy's tenant list, `unavailable` (why) when the source cannot be read now, undefined when none is configured. */
type LegacyTenants = { list: string[]; source: string } | { unavailable: string } | undefined;

/**
 * Status is what an operator looks at while things are broken: a legacy source that cannot be read now makes
 * status show less (and say so), never fail.
 */
async function legacyTenants(config: MigratorConfig, services: ServiceRegistry): Promise<LegacyTenants> {
  if (!config.VC_LEGACY_DATABASE_URL && !config.VC_LEGACY_EXPORT_DIR) return undefined;
  try {
    const legacy = await services.legacy();
    return { list: await legacyTenantList(legacy), source: legacy.description };
  } catch (error) {
    return { unavailable: (error as Error).message };
  }
}

/**
 * `status --tenant X` with no state for X: a tenant legacy does not have is a typo (exit 2, listing the ones it
 * has, closest first), not a tenant to start migrating. Without a legacy source configured, or one that cannot be
 * read now, it only says X has no state.
 */
async function noStateFor(tenant: string, config: MigratorConfig, services: ServiceRegistry): Promise<string> {
  const known = await legacyTenants(config, services);
  if (known && 'list' in known) {
    assertKnownTenant(tenant, known.list, known.source);
    return `no migration state for tenant ${tenant} yet (once \`migrator phase s0\` has run: \`migrator phase s1 --tenant ${tenant}\`)`;
  }
  return `no migration state for tenant ${tenant}`;
}

/**
 * Where the all-tenants view took its tenants from (docs/design.md §6: status shows every tenant): legacy's
 * tenants merged with those that have state, so one not started yet shows as `ready for s1`; without a
 * readable legacy source only those with state, and a note saying so.
 */
function tenantSource(known: LegacyTenants): { tenantsFrom: 'legacy+state'; legacySource: string } | { tenantsFrom: 'state'; note: string } {
  if (known && 'list' in known) return { tenantsFrom: 'legacy+state', legacySource: known.source };
  const why = known
    ? `the legacy source cannot be read now (${known.unavailable})`
    : 'no legacy source configured (VC_LEGACY_DATABASE_URL or VC_LEGACY_EXPORT_DIR)';
  return { tenantsFrom: 'state', note: `${why}: only tenants with migration state are listed` };
}

/** `migrator status`: a rollup per tenant, then every tenant × phase × step with its state, counts, timings and facts. */
export function makeStatusCommand(): Command {
  return new Command('status')
    .description('show where each tenant stands, then every tenant × phase × step: status, counts, timings, facts (no PHI)')
    .option('--tenant <id>', 'only this tenant (one legacy does not have is exit 2, when a legacy source is configured)')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const { shown, plans, tenants, none, source } = await withCommandContext(async ({ handle, config, services }) => {
        const [saved, plans] = await Promise.all([listCheckpoints(handle.db, opts.tenant), planSummaries(handle.db)]);
        const none = opts.tenant && saved.length === 0 ? await noStateFor(opts.tenant, config, services) : undefined;
        // Every tenant only in the all-tenants view: `--tenant X` keeps saying what it says about X alone.
        const known = opts.tenant === undefined ? await legacyTenants(config, services) : undefined;
        const source = opts.tenant === undefined ? tenantSource(known) : undefined;
        const fromLegacy = known && 'list' in known ? known.list : [];
        const rows = saved.length === 0 && fromLegacy.length === 0 ? [] : withPendingSteps(saved, await loadAllPhases(), opts.tenant, fromLegacy);
        const shown = await shownSteps(handle.db, rows);
        const tenants: TenantRollup[] = [];
        for (const tenant of [...new Set(shown.map((s) => s.tenant))].filter((t) => t !== '*')) {
          tenants.push(
            rollupOf(
              tenant,
              shown.filter((s) => s.tenant === tenant && s.phase !== 's0'),
              await tenantGateFacts(handle.db, tenant),
            ),
          );
        }
        return { shown, plans, tenants, none, source };
      });
      const steps = shown.map(({ row: r, status, error, run }) => ({
        tenant: r.tenantId,
        phase: r.phase,
        step: r.stepId,
        status,
        read: r.read,
        written: r.written,
        rejected: r.rejected,
        deferred: r.deferred,
        warnings: r.warnings,
        durationMs: r.durationMs,
        startedAt: r.startedAt?.toISOString() ?? null,
        finishedAt: r.finishedAt?.toISOString() ?? null,
        ...(error ? { error } : {}),
        ...(run ? { run } : {}),
        ...(Object.keys(r.facts).length ? { facts: r.facts } : {}),
      }));
      if (opts.json) return printJson({ tenants, steps, ...(plans.length ? { plans } : {}), ...source });
      if (none) return printText(none);
      if (steps.length === 0) return printText('no migration state yet (run `migrator phase s0`, then `migrator phase s1 --tenant <id>`)');
      const header = ['tenant', 'phase', 'step', 'status', 'read', 'written', 'rejected', 'deferred', 'warnings', 'ms', 'finished'];
      const table = steps.map((s) =>
        [
          s.tenant,
          s.phase,
          s.step,
          s.status,
          s.read,
          s.written,
          s.rejected,
          s.deferred,
          Object.values(s.warnings).reduce((a, b) => a + b, 0),
          s.durationMs,
          s.finishedAt ?? '-',
        ].map(String),
      );
      const notes = source && 'note' in source ? [`(${source.note})`] : [];
      const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
      const line = (cells: string[]) =>
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd();
      const facts = steps
        .filter((s) => s.facts)
        .flatMap((s) => factLines(s.facts!).map((l, i) => (i === 0 ? `${s.tenant} ${s.phase} ${s.step}: ${l}` : `  ${l}`)));
      printText(
        [
          ...tenants.map((t) => t.line),
          ...notes,
          ...(tenants.length || notes.length ? [''] : []),
          line(header),
          ...table.map(line),
          ...steps.filter((s) => s.error).map((s) => `${s.tenant} ${s.phase} ${s.step}: ${s.error}`),
          ...(facts.length ? ['', 'facts:', ...facts] : []),
          ...planSummaryLines(plans),
        ].join('\n'),
      );
    });
}
