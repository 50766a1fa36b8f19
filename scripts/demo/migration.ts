import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { serviceApi } from './api';
import type { DemoContext } from './context';
import { EXIT, logTail } from './migrator';
import { asPhaseSummary, asValidationSummary, type PhaseSummary } from './phase-results';
import { startDemoService } from './service';
import { checkOnlyBrokenFailed, DemoFailure, runStep, say } from './steps';
import { prepareTenantConfigs } from './tenant-configs';
import { judgeValidation, type TenantVerdict } from './verdicts';

export interface MigrationResults {
  s1: PhaseSummary;
  s3: PhaseSummary;
  s4: PhaseSummary;
  verdicts: TenantVerdict[];
  parallelRunDir: string;
  /** Encounters S2 2.4 and S4 4.1 created in FHIR for migrated ended sessions legacy left without one. */
  encountersBackfilled: number;
}

/**
 * The demo mirrors no live traffic to the new service before the cutover, so the parallel run can only
 * compare the migrated copies; an operator's run requires mirrored sessions (`--min-parallel-pairs`, default 1).
 */
const S2_NO_MIRRORED_TRAFFIC = ['--min-parallel-pairs', '0'] as const;

/** A phase for every tenant; only the tenants broken on purpose may fail it (exit 1, state kept). */
async function allTenants(
  ctx: DemoContext,
  env: Readonly<Record<string, string>>,
  label: string,
  args: readonly string[],
): Promise<PhaseSummary & { logFile: string }> {
  const run = await runStep(ctx.migrator, env, ctx.root, label, args, [EXIT.done, EXIT.stepFailed]);
  let summary: PhaseSummary;
  try {
    summary = asPhaseSummary(run.json, run.command);
  } catch (error) {
    say((await logTail(run.logFile)).replace(/^/gm, '    '));
    throw new DemoFailure((error as Error).message, { cause: error });
  }
  checkOnlyBrokenFailed(summary, ctx.facts.brokenTenants);
  return { ...summary, logFile: run.logFile };
}

/** Plan 2.1, done by each tenant admin through the service (PGlite: no migrator meanwhile). */
async function configureTenants(ctx: DemoContext): Promise<void> {
  say('\n▸ S2 step 2.1 (infrastructure): deploy a branded Jitsi per tenant; each tenant admin points the config at it (PUT /config)');
  const admin = await startDemoService({ ...ctx.env.shadow, VC_AUTH_HS256_SECRET: ctx.hs256Secret }, ctx.layout.logs, 'tenant-configs');
  const configured = await prepareTenantConfigs(serviceApi(admin.url, ctx.hs256Secret), ctx.standIns.jitsi).finally(() => admin.close());
  for (const tenant of configured.pointed) say(`  ${tenant}: Jitsi deployed, config points at it`);
  for (const tenant of configured.withoutConfig) say(`  ${tenant}: no migrated config to point (S1 rejected its credentials)`);
}

/**
 * Last, after the live session: the auditor's pack of the first healthy tenant, signed with the demo's KMS
 * keyring, then verified. Returns its folder (the .tar.gz sits beside it).
 */
export async function writeEvidence(ctx: DemoContext): Promise<string> {
  const tenant = ctx.facts.tenants.find((t) => !ctx.facts.brokenTenants.includes(t));
  if (!tenant) throw new DemoFailure('the fixture export has no healthy tenant to write the evidence pack of');
  const dir = join(ctx.layout.evidence, tenant);
  await runStep(
    ctx.migrator,
    ctx.env.live,
    ctx.root,
    `evidence: ${tenant}'s auditor pack (reports, run ledger, fingerprints, tallies, KMS keys, Kong snapshots, MANIFEST, HTML), signed`,
    ['evidence', '--tenant', tenant, '--out', dir, '--sign', '--as-of', ctx.facts.asOf],
  );
  await runStep(ctx.migrator, ctx.env.live, ctx.root, 'evidence verify: every file against MANIFEST.json, and the signature', ['evidence', 'verify', dir]);
  say(`  evidence pack of ${tenant}: ${resolve(ctx.root, dir)}/report.html (archive ${resolve(ctx.root, dir)}.tar.gz)`);
  return dir;
}

/** Why the demo runs S4 past globex's gates: recorded in the run ledger like an operator's reason. */
const DEMO_FORCE_REASON = 'demo: globex is broken on purpose (corrupt legacy credentials); its traffic moves with the gateway-wide cutover';

/** The gates a `--force --reason` run went past, per tenant, as it says on stderr (its log). */
async function overriddenGates(logFile: string): Promise<Map<string, Set<string>>> {
  const byTenant = new Map<string, Set<string>>();
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    const found = /^ {2}(\S+): gate (\S+) — /.exec(line);
    if (found) byTenant.set(found[1]!, (byTenant.get(found[1]!) ?? new Set()).add(found[2]!));
  }
  return byTenant;
}

/**
 * The S4 gates as an operator meets them: validate first (S4 needs a passing one newer than each tenant's
 * last run); then, since Kong routing is gateway-wide and globex fails its gates, S4 only with
 * `--force --reason`, which the run ledger records. Only the tenants broken on purpose may be overridden.
 */
async function cutOver(ctx: DemoContext, flags: readonly string[]): Promise<PhaseSummary> {
  const { migrator, env, root, layout, facts } = ctx;
  await runStep(
    migrator,
    env.shadow,
    root,
    "validate before S4 (its gate): the plan's §5 checklist",
    ['validate', '--all-tenants', '--out', join(layout.reports, 'before-s4'), '--as-of', facts.asOf],
    [EXIT.done, EXIT.validationFailed],
  );
  const label =
    'S4: delta sync since S1, Kong cutover (snapshot first), record it — past the gates of the tenant broken on purpose, the reason recorded in the run ledger';
  const summary = await allTenants(ctx, env.live, label, ['phase', 's4', '--all-tenants', ...flags, '--force', '--reason', DEMO_FORCE_REASON]);
  const gates = await overriddenGates(summary.logFile);
  const tenants = [...gates.keys()];
  if (tenants.length === 0 || tenants.some((t) => !facts.brokenTenants.includes(t))) {
    throw new DemoFailure(`S4 went past gates, but not only those of the tenants broken on purpose: ${tenants.join(', ') || 'none'}`);
  }
  for (const [tenant, ids] of gates)
    say(
      `  expected: ${tenant}'s gates overridden (${[...ids].join(', ')}): its traffic moves with the gateway-wide Kong cutover; without --force this run is refused (exit 2)`,
    );
  return summary;
}

/**
 * S0 → S4 and validate, each the command an operator types, in a child process of the real CLI. As the
 * runbooks do, validate runs before S4 (its gate); it runs again last so the report covers the delta sync too.
 */
export async function runMigration(ctx: DemoContext): Promise<MigrationResults> {
  const { migrator, env, root, layout, facts } = ctx;
  const flags = ['--as-of', facts.asOf, '--max-reject-rate', '0.1', '--json'];
  const parallelRunDir = join(layout.reports, 'parallel-run');

  await runStep(migrator, env.shadow, root, 'S0: create the database, apply migrations, check shadow mode', ['phase', 's0', '--json']);
  const s1Run = await runStep(migrator, env.shadow, root, 'S1: sessions, video backends, tenant configs (KMS re-encryption), participants, statuses', [
    'phase',
    's1',
    '--all-tenants',
    ...flags,
  ]);
  const s1 = asPhaseSummary(s1Run.json, s1Run.command);
  await configureTenants(ctx);
  await allTenants(
    ctx,
    env.shadow,
    'S2: Jitsi JWT test-connection, parallel-run comparison (migrated copies only: the demo mirrors no traffic), Encounter backfill, billing/audit checks',
    ['phase', 's2', '--all-tenants', '--window', '14d', '--report-dir', parallelRunDir, ...S2_NO_MIRRORED_TRAFFIC, ...flags],
  );
  const s3 = await allTenants(ctx, env.shadow, 'S3: export consents, import into access-policy, verify decisions agree', [
    'phase',
    's3',
    '--all-tenants',
    ...flags,
  ]);
  const s4 = await cutOver(ctx, flags);
  // The FHIR stand-in starts empty each run: everything it holds now, the migrator created.
  const encountersBackfilled = await ctx.standIns.fhir.encounterCount();
  await writeFile(resolve(root, layout.kongFile), `${JSON.stringify(ctx.standIns.kong.current(), null, 2)}\n`);

  // The verdicts come from the report file an operator (or CI) reads, not from the console.
  await runStep(
    migrator,
    env.live,
    root,
    "validate: the plan's §5 checklist, JSON + JUnit + Markdown reports",
    ['validate', '--all-tenants', '--out', layout.reports, '--as-of', facts.asOf],
    [EXIT.done, EXIT.validationFailed],
  );
  const reportFile = resolve(root, layout.reports, 'validation.json');
  const report = asValidationSummary(JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>, reportFile);
  return { s1, s3, s4, verdicts: judgeValidation(report, facts.tenants, facts.brokenTenants), parallelRunDir, encountersBackfilled };
}
