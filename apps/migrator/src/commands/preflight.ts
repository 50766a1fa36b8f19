import { Command, Option } from 'commander';
import { loadConfig } from '../config';
import { ExitError } from '../exit-error';
import { createLogger } from '../logger';
import { printJson, printText } from '../output';
import { runPreflight, type PreflightReport } from '../preflight/run-preflight';

const EXAMPLES = `
Examples:
  $ pnpm migrator preflight                       # every legacy tenant
  $ pnpm migrator preflight --tenant acme --json
  $ pnpm migrator preflight --all-tenants --rate 15000

Checks, each PASS, FAIL or SKIP (not configured) with a one-line reason: target.reachable, target.privileges,
target.schema (s0 applied, not ahead of this build), legacy.reachable, legacy.time_zone, legacy.contract,
portal.contract, tenants.known, kms.round_trip, credentials.legacy, credentials.target, nats.jetstream,
fhir.reachable, access_policy.reachable, kong.reachable, legacy.counts (with the S1 estimate and its rate).
Exit 0 when none fails, 2 when any does. Nothing is written anywhere; no secret or PHI is printed.`;

function render(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = report.checks.map((c) => `${c.status.toUpperCase().padEnd(4)}  ${c.id.padEnd(width)}  ${c.reason}`);
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  lines.push('', failed ? `preflight: ${failed} check(s) failed` : 'preflight: every check passed');
  return lines.join('\n');
}

/** `migrator preflight`: is everything S0–S4 need reachable, privileged and as the contract says, before anything runs? */
export function makePreflightCommand(): Command {
  return new Command('preflight')
    .description('check every configured system, the schema, the legacy contract, credentials and counts before migrating (exit 2 on any failure)')
    .option('--tenant <id>', 'only this tenant (it must be one legacy has)')
    .option('--all-tenants', 'every legacy tenant (the default)')
    .addOption(new Option('--rate <rows/s>', 'S1 source rows per second for the duration estimate (default: the bench run in bench/RESULTS.md)'))
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (opts: { tenant?: string; allTenants?: boolean; rate?: string; json?: boolean }) => {
      if (opts.tenant !== undefined && opts.allTenants) throw new ExitError(2, 'give either --tenant <id> or --all-tenants, not both');
      const rate = opts.rate === undefined ? undefined : Number(opts.rate);
      if (rate !== undefined && !(Number.isFinite(rate) && rate > 0))
        throw new ExitError(2, `--rate: expected a positive number of rows per second, got ${JSON.stringify(opts.rate)}`);
      const config = loadConfig(process.env);
      const report = await runPreflight(config, createLogger(config.VC_LOG_LEVEL), {
        ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
        ...(rate ? { rate } : {}),
      });
      if (opts.json) printJson(report);
      else printText(render(report));
      if (report.status === 'fail')
        throw new ExitError(
          2,
          `preflight failed: ${report.checks
            .filter((c) => c.status === 'fail')
            .map((c) => c.id)
            .join(', ')}`,
        );
    });
}
