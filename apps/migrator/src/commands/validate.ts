import { hostname } from 'node:os';
import { Command, Option } from 'commander';
import { LEGACY_SOURCE, loadConfig, PORTAL_SOURCE, type SettingRequirement } from '../config';
import { assertKnownTenant, legacyTenantList } from '../engine/known-tenants';
import { lockTenantsForReading } from '../engine/read-lock';
import { closeAfterStop, stopOnSignals, untilStopped } from '../engine/stop-signals';
import { createServices } from '../engine/services';
import { ExitError } from '../exit-error';
import { databaseNow, recordValidations } from '../gates/validations';
import { printJson } from '../output';
import { assertNoPhi, parseReportFormats, writeValidationReports } from '../reports/index';
import { legacyTenants, runValidation } from '../validate/run-validation';
import { parseAsOf, positiveInt } from './run-options';
import { openTarget } from './target';

const EXAMPLES = `
Examples:
  $ pnpm migrator validate --tenant acme
  $ pnpm migrator validate --all-tenants --report junit --out reports/ci    # CI gate: exit 3 on a failing check
  $ pnpm migrator validate --tenant acme --as-of 2026-11-01T00:00:00Z --json > acme-validation.json

SIGINT, SIGTERM or SIGHUP stops the checks (no verdict recorded, no report written) and exits 1; a second
signal stops at once.`;

/** What the checklist reads: legacy sessions and configs, portal consents, decisions through access-policy. */
export const VALIDATE_REQUIRES: readonly SettingRequirement[] = [
  { anyOf: LEGACY_SOURCE, neededBy: 'validate (sessions reconciled against legacy digital_communication)' },
  { anyOf: PORTAL_SOURCE, neededBy: 'validate (consents of legacy patient_portal)' },
  { anyOf: ['VC_ACCESS_POLICY_URL'], neededBy: 'validate (consents accessible through access-policy)' },
];

interface ValidateFlags {
  tenant?: string;
  allTenants?: boolean;
  report: string;
  out: string;
  asOf?: string;
  batchSize: string;
  json?: boolean;
}

function parseFlags(flags: ValidateFlags): { tenants: 'all' | string; asOf: Date; batchSize: number } {
  if (Boolean(flags.tenant) === Boolean(flags.allTenants)) throw new ExitError(2, 'validate needs exactly one of --tenant <id> or --all-tenants');
  return {
    tenants: flags.allTenants ? 'all' : flags.tenant!,
    asOf: parseAsOf(flags.asOf, new Date()),
    batchSize: positiveInt('--batch-size', flags.batchSize),
  };
}

/**
 * `migrator validate --tenant X | --all-tenants [--report json,junit,md] [--out DIR] [--json]`: the plan's
 * §5 checklist. Writes the reports, records each tenant's verdict in vc_migration.validations (the S4 gate
 * reads it), prints the docs/design.md §8 JSON with --json, exits 3 when any check fails.
 */
export function makeValidateCommand(): Command {
  return new Command('validate')
    .description("run the migration plan's §5 data-validation checklist; exit 3 when any check fails")
    .option('--tenant <id>', 'validate one tenant (one legacy has: an unknown one is exit 2)')
    .option('--all-tenants', 'validate every tenant legacy knows')
    .option('--report <formats>', 'reports to write: a comma list of json, junit, md', 'json,junit,md')
    .option('--out <dir>', 'directory the reports are written to', 'reports')
    .addOption(new Option('--as-of <iso>', 'instant "recent" billing and consent decisions are judged at (default: now)'))
    .option('--batch-size <n>', 'legacy rows read per batch', '5000')
    .option('--json', 'print the validation JSON { status, checks: [{ id, tenant, status, expected, actual, samples }] } on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ValidateFlags) => {
      let formats;
      try {
        formats = parseReportFormats(flags.report);
      } catch (error) {
        throw new ExitError(2, (error as Error).message, { cause: error });
      }
      const { tenants, asOf, batchSize } = parseFlags(flags);
      // Its safe point is anywhere before the verdicts are recorded: the checks only read.
      const stop = stopOnSignals(process.env, 'stopping the checks: no verdict is recorded and no report written');
      const config = loadConfig(process.env, VALIDATE_REQUIRES);
      const services = createServices(config);
      // The same way every command opens it: a PGlite directory is locked, a bad URL is exit 2.
      const handle = await openTarget(config);
      try {
        const legacy = await services.legacy();
        // Before anything is read or recorded: a verdict for a tenant legacy does not have (a typo) would be a
        // row the S4 gate and the evidence pack take at its word.
        if (tenants !== 'all') assertKnownTenant(tenants, await legacyTenantList(legacy), legacy.description);
        // Before the checklist reads anything: the S4 gate compares this with the tenant's runs (database time).
        const startedAt = await databaseNow(handle.db);
        const deps = {
          db: handle.db,
          legacy,
          portal: await services.portal(),
          accessPolicy: await services.accessPolicy(),
          // Optional: with it, the Encounters the migrator created are looked up in FHIR too.
          fhir: config.VC_FHIR_BASE_URL ? services.fhir : undefined,
          asOf,
          batchSize,
          lockForReading: (tenants: readonly string[]) => lockTenantsForReading(handle, tenants),
        };
        const tenantList = tenants === 'all' ? await legacyTenants(legacy) : [tenants];
        const run = await untilStopped(
          runValidation(deps, tenantList),
          stop.signal,
          () => `validate interrupted (${(stop.signal.reason as Error).message}): no verdict recorded, no report written; run it again`,
        );
        const { report } = run;
        // Each tenant's verdict, for the S4 gate (a passing validate newer than the tenant's last s1–s4 run).
        await recordValidations(handle.db, report.checks, tenantList, { startedAt, asOf });
        const paths = await writeValidationReports(report, formats, flags.out, {
          startedAt: run.startedAt,
          hostname: hostname() || 'localhost',
          seconds: run.seconds,
          tenantSeconds: run.tenantSeconds,
        });
        for (const check of report.checks.filter((c) => c.status !== 'pass')) {
          const detail = check.status === 'error' ? `could not complete: ${JSON.stringify(check.actual)}` : check.samples.join(', ') || 'see report';
          console.error(`${check.status.toUpperCase()} ${check.tenant} ${check.id}: ${detail}`);
        }
        console.error(`validation ${report.status}: ${report.checks.length} checks; reports: ${paths.join(', ')}`);
        if (flags.json) {
          assertNoPhi(report);
          printJson(report);
        }
        if (report.status === 'fail')
          throw new ExitError(
            3,
            `validation failed: ${report.checks
              .filter((c) => c.status !== 'pass')
              .map((c) => `${c.tenant}/${c.id}`)
              .join(', ')}`,
          );
      } finally {
        stop.dispose();
        await closeAfterStop(
          services.close().finally(() => handle.close()),
          stop.signal,
        );
      }
    });
}
