import { Command } from 'commander';
import { legacyTenantList, tenantsFromLegacy } from '../engine/known-tenants';
import { resumeCommand } from '../engine/resume-command';
import { runPhase, type PhaseSummary } from '../engine/run-phase';
import { stopOnSignals } from '../engine/stop-signals';
import type { Phase, PhaseActionFlags, Services } from '../engine/types';
import { ExitError } from '../exit-error';
import { enforcePhaseGates } from '../gates/enforce';
import { noteStepCounts } from '../ledger/invocation';
import { printJson, printText } from '../output';
import { PHASE_IDS, loadPhase } from '../phases';
import { stderrIsTerminal } from '../terminal';
import { withCommandContext } from './context';
import { checkSummaryFlag, reportPhaseEnd } from './phase-end';
import { checkPhaseFlags } from './phase-flags';
import { addRunOptions, parseRunOptions, type RawRunOptions } from './run-options';

const EXAMPLES = `
Examples:
  $ pnpm migrator phase s0
  $ pnpm migrator phase s1 --tenant acme --as-of 2026-01-01T00:00:00Z
  $ pnpm migrator phase s1 --all-tenants --batch-size 10000 --json > s1.json
  $ pnpm migrator phase s1 --tenant acme --dry-run
  $ pnpm migrator phase s1 --tenant acme --restart-step 1.4
  $ pnpm migrator phase s2 --tenant acme --window 14d --report-dir reports/s2
  $ pnpm migrator phase s3 --all-tenants --as-of 2026-01-01T00:00:00Z
  $ pnpm migrator phase s4 --tenant acme --service-upstream http://virtual-care-service:8080
  $ pnpm migrator phase s4 --tenant acme --force --reason "CHG-1234: globex cut over by its own change"
  $ pnpm migrator phase s4 decommission --tenant acme --force --reason "legacy host retired early"

Gates (refused with exit 2, naming the gate and the command that clears it): s2 and s3 need s1 done;
s4 needs s2 GO and a passing \`migrator validate\` newer than the tenant's last s1–s4 run, and, since Kong
routing is gateway-wide, so does every tenant whose traffic the cutover moves. --force --reason "<why>"
runs past them; the override is recorded in the run ledger (who, which gate, why).

Exit codes: 0 done; 1 a step failed or was interrupted (state kept: run again to resume);
2 bad usage or config, or a gate refused; 3 validation failed.`;

/**
 * The tenants to run; `checkPhaseFlags` has made sure exactly one of --tenant and --all-tenants is given.
 * Every per-tenant phase requires a legacy source (its `requires`), so tenants are always the ones it has.
 */
async function tenantsFor(phase: Phase, raw: { tenant?: string; allTenants?: boolean }, services: Services): Promise<string[]> {
  if (phase.global) return ['*'];
  return tenantsFromLegacy(await services.legacy(), raw.tenant ? [raw.tenant] : undefined, phase.id);
}

function printSummary(summary: PhaseSummary): void {
  const lines = [
    `phase ${summary.phase} ${summary.tenant ?? (summary.tenants ?? []).join(',')}: ${summary.status}${summary.dryRun ? ' (dry run: nothing written)' : ''}`,
  ];
  // The per-step counts are the table on stderr (commands/phase-end.ts); here only what failed, and why.
  for (const s of summary.steps) if (s.error) lines.push(`  ${s.tenant} ${s.id} ${s.status}: ${s.error}`);
  if (Object.keys(summary.rejects).length) lines.push(`  rejects: ${JSON.stringify(summary.rejects)}`);
  if (Object.keys(summary.warnings).length) lines.push(`  warnings: ${JSON.stringify(summary.warnings)}`);
  printText(lines.join('\n'));
}

/** "Settings each phase needs" for --help, from the phases' own `requires` (checked before a run opens anything). */
function settingsHelp(phases: readonly Phase[]): string {
  const lines = phases.map(
    (p) => `  ${p.id}  ${p.requires?.length ? p.requires.map((r) => r.anyOf.join(' or ')).join('; ') : 'nothing beyond VC_DATABASE_URL (defaulted)'}`,
  );
  return `\n\nSettings each phase needs (checked before anything is opened; exit 2 naming what is missing):\n${lines.join('\n')}`;
}

/** `migrator phase <id> <action>`: the phase's own action (s4 decommission), or exit 2 naming the ones it has. */
function runAction(phase: Phase, action: string, flags: PhaseActionFlags): Promise<void> {
  const named = phase.actions?.[action];
  if (named) return named.run(flags);
  const own = Object.keys(phase.actions ?? {}).map((a) => `\`phase ${phase.id} ${a}\``);
  throw new ExitError(2, `unknown action "${action}" for phase ${phase.id} (${own.length ? `it has ${own.join(', ')}` : 'it has none'})`);
}

/**
 * `migrator phase <s0|s1|s2|s3|s4> [action]`: runs a phase's steps, resumable, with the flags of docs/design.md §6.
 * `phases` are the phases this invocation may run (cli.ts loads only the one named, when it is named),
 * whose own flags are added.
 */
export function makePhaseCommand(phases: readonly Phase[]): Command {
  const command = addRunOptions(new Command('phase'))
    .description('run a migration phase (s0 bootstrap, s1 session data, s2 Jitsi/parallel run, s3 consents, s4 cutover)')
    .argument('<phase>', `one of ${PHASE_IDS.join(', ')}`)
    .argument('[action]', 's4 only: decommission (refused inside the 2-week stability window unless --force --reason)')
    .addHelpText('after', `${EXAMPLES}${settingsHelp(phases)}`);
  for (const phase of phases) for (const flag of phase.flags ?? []) command.option(flag.flags, `(${phase.id}) ${flag.description}`, flag.defaultValue);
  return command.action(async (phaseId: string, action: string | undefined, raw: RawRunOptions & { tenant?: string; allTenants?: boolean; json?: boolean }) => {
    const phase = phases.find((p) => p.id === phaseId.toLowerCase()) ?? (await loadPhase(phaseId));
    if (action !== undefined) return runAction(phase, action, raw);
    const options = parseRunOptions(raw, new Date());
    checkPhaseFlags(phase, undefined, raw, options);
    checkSummaryFlag(raw);
    if (phase.prepare && options.dryRun) throw new ExitError(2, `phase ${phase.id} only ensures things idempotently; it has nothing to preview with --dry-run`);
    const stop = stopOnSignals();
    try {
      const summary = await withCommandContext(async ({ config, log, handle, services }) => {
        const prepared = phase.prepare ? await phase.prepare(config, handle) : undefined;
        const tenants = await tenantsFor(phase, raw, services);
        // Before anything is written: a tenant that skips the pipeline is refused (exit 2), or overridden and recorded.
        await enforcePhaseGates({
          db: handle.db,
          phase: phase.id,
          tenants,
          override: options.override,
          knownTenants: async () => legacyTenantList(await services.legacy()),
          command: `phase ${phase.id}`,
          dryRun: options.dryRun,
        });
        return runPhase({ phase, tenants, options, config, handle, services, log, prepared, signal: stop.signal, progress: { tty: stderrIsTerminal() } });
      }, phase.requires);
      noteStepCounts(summary.steps);
      await reportPhaseEnd(summary, raw);
      if (raw.json) printJson(summary);
      else printSummary(summary);
      if (summary.status !== 'done')
        throw new ExitError(
          1,
          summary.status === 'interrupted'
            ? `phase ${phase.id} interrupted; run the same command again to resume: ${resumeCommand()}`
            : `phase ${phase.id} failed: ${(summary.errors ?? []).map((e) => `${e.tenant} ${e.step}: ${e.message}`).join('; ')}`,
        );
    } finally {
      stop.dispose();
    }
  });
}
