import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { serviceApi } from './api';
import { dataLayout, resetDataDir } from './data-dir';
import { readFixtureFacts } from './fixture';
import { walkLiveSession } from './live-session';
import { EXIT, migratorRunner } from './migrator';
import { asPhaseSummary, asValidationSummary } from './phase-results';
import { startDemoService } from './service';
import { demoSettings } from './settings';
import { startStandIns } from './stand-ins';
import { prepareTenantConfigs } from './tenant-configs';
import { checkOnlyBrokenFailed, DemoFailure, runStep, say } from './steps';
import { renderSummary } from './summary';
import { judgeValidation } from './verdicts';
import { createAccessPolicyClient } from '../../packages/integrations/src/access-policy';

/**
 * `pnpm demo`: S0 → S4 and validate for the checked-in export's tenants, through the real migrator CLI,
 * then one live session over HTTP against the real service — all on embedded defaults (PGlite, the local
 * KMS keyring, in-process stand-ins). Exit 0 when everything behaved as the fixtures call for.
 */
async function main(): Promise<number> {
  const started = Date.now();
  const settings = demoSettings(process.env);
  const { root } = settings;
  // Paths inside the repository are given relative to it, as an operator would type them (cwd is the root).
  const here = (p: string) => {
    const rel = relative(root, p);
    return rel.startsWith('..') ? p : rel;
  };
  const facts = await readFixtureFacts(settings.exportDir);
  const layout = dataLayout(here(settings.dataDir));
  say(`virtual-care demo: ${facts.tenants.length} tenants from ${here(settings.exportDir)} (as of ${facts.asOf}); data in ${layout.dir} (reset first)`);
  await resetDataDir(dataLayout(settings.dataDir));
  const standIns = await startStandIns(facts.tenants);
  say(`stand-ins on 127.0.0.1: FHIR R4 ${standIns.fhir.url}, access-policy ${standIns.accessPolicy.url}, Kong Admin ${standIns.kong.url}, licensing ${standIns.licensing.url}, Jitsi ×${standIns.jitsi.size}`);
  try {
    const base: Record<string, string> = {
      VC_DATABASE_URL: layout.databaseUrl,
      VC_KMS: layout.kms,
      VC_LEGACY_EXPORT_DIR: here(settings.exportDir),
      VC_LEGACY_MASTER_KEY: facts.legacyMasterKey,
      ...standIns.env,
    };
    // The plan: the service runs in shadow mode alongside legacy until the S4 cutover, live after it.
    const shadow = { ...base, VC_MODE: 'shadow' };
    const live = { ...base, VC_MODE: 'live' };
    const hs256 = randomBytes(32).toString('base64url');
    const serviceEnv = (env: Record<string, string>) => ({ ...env, VC_AUTH_HS256_SECRET: hs256 });
    const migrator = migratorRunner(root, layout.logs);
    const phaseFlags = ['--as-of', facts.asOf, '--max-reject-rate', '0.1', '--json'];
    const parallelRunDir = join(layout.reports, 'parallel-run');

    await runStep(migrator, shadow, root, 'S0: create the database, apply migrations, check shadow mode', ['phase', 's0', '--json']);
    const s1Run = await runStep(migrator, shadow, root, 'S1: sessions, video backends, tenant configs (KMS re-encryption), participants, statuses', ['phase', 's1', '--all-tenants', ...phaseFlags], [EXIT.done]);
    const s1 = asPhaseSummary(s1Run.json, s1Run.command);

    say('\n▸ S2 step 2.1 (infrastructure): deploy a branded Jitsi per tenant; each tenant admin points the config at it and confirms the FHIR era start (PUT /config)');
    const admin = await startDemoService(serviceEnv(shadow), layout.logs, 'tenant-configs');
    const configured = await prepareTenantConfigs(serviceApi(admin.url, hs256), standIns.jitsi).finally(() => admin.close());
    for (const { tenant, fhirEraStart } of configured.pointed) say(`  ${tenant}: Jitsi deployed; FHIR era starts ${fhirEraStart ?? 'before every session (all have Encounters)'}`);
    for (const tenant of configured.withoutConfig) say(`  ${tenant}: no migrated config to point (S1 rejected its credentials)`);

    const s2Run = await runStep(migrator, shadow, root, 'S2: Jitsi JWT test-connection, parallel-run comparison, Encounter/billing/audit checks', ['phase', 's2', '--all-tenants', '--window', '14d', '--report-dir', parallelRunDir, ...phaseFlags], [EXIT.done, EXIT.stepFailed]);
    checkOnlyBrokenFailed(asPhaseSummary(s2Run.json, s2Run.command), facts.brokenTenants);
    const s3Run = await runStep(migrator, shadow, root, 'S3: export consents, import into access-policy, verify decisions agree', ['phase', 's3', '--all-tenants', ...phaseFlags], [EXIT.done, EXIT.stepFailed]);
    const s3 = asPhaseSummary(s3Run.json, s3Run.command);
    checkOnlyBrokenFailed(s3, facts.brokenTenants);
    const s4Run = await runStep(migrator, live, root, 'S4: delta sync since S1, Kong cutover (snapshot first), record it', ['phase', 's4', '--all-tenants', '--service-upstream', 'http://virtual-care-service:8080', ...phaseFlags], [EXIT.done, EXIT.stepFailed]);
    const s4 = asPhaseSummary(s4Run.json, s4Run.command);
    checkOnlyBrokenFailed(s4, facts.brokenTenants);
    await writeFile(resolve(root, layout.kongFile), `${JSON.stringify(standIns.kong.current(), null, 2)}\n`);

    // The verdicts come from the report file an operator (or CI) would read, not from the console.
    await runStep(migrator, live, root, "validate: the plan's §5 checklist, JSON + JUnit + Markdown reports", ['validate', '--all-tenants', '--out', layout.reports, '--as-of', facts.asOf], [EXIT.done, EXIT.validationFailed]);
    const reportFile = resolve(root, layout.reports, 'validation.json');
    const verdicts = judgeValidation(asValidationSummary(await readJson(reportFile), reportFile), facts.tenants, facts.brokenTenants);

    const tenant = facts.tenants.find((t) => !facts.brokenTenants.includes(t));
    if (!tenant) throw new DemoFailure('the fixture export has no healthy tenant to run a live session for');
    say(`\n▸ live session for ${tenant}: virtual-care-service (VC_MODE=live) over HTTP, outbox relay to the FHIR stand-in`);
    const service = await startDemoService(serviceEnv(live), layout.logs, 'live');
    const liveOutcome = await walkLiveSession(
      {
        api: serviceApi(service.url, hs256),
        consents: (t) => standIns.accessPolicy.consents(t),
        accessPolicy: createAccessPolicyClient({ baseUrl: standIns.accessPolicy.url }),
        encounterCount: () => standIns.fhir.encounterCount(),
        encounterTimeoutMs: 15_000,
      },
      tenant,
    ).finally(() => service.close());
    say(`  every call answered as expected; ${liveOutcome.encounterRef} created by the outbox relay`);

    const summary = renderSummary({
      tenants: facts.tenants,
      brokenTenants: facts.brokenTenants,
      s1,
      s3,
      s4,
      verdicts,
      live: liveOutcome,
      paths: { root, dataDir: settings.dataDir, reports: resolve(root, layout.reports), logs: resolve(root, layout.logs), kongFile: resolve(root, layout.kongFile), parallelRun: resolve(root, parallelRunDir) },
      elapsedMs: Date.now() - started,
    });
    say(summary);
    return verdicts.every((v) => v.asExpected) ? 0 : 1;
  } finally {
    await standIns.close();
  }
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\ndemo failed: ${message}\n`);
    if (!(error instanceof DemoFailure) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
