import { resolve } from 'node:path';
import { createCsvSource } from '../../apps/migrator/src/legacy/csv-source';
import { seedLegacyEncounters } from '../../apps/migrator/src/testing/ehr-encounters';
import { createAccessPolicyClient } from '../../packages/integrations/src/access-policy';
import { serviceApi } from './api';
import { type DemoContext, demoEnvironments, fromRoot, newHs256Secret } from './context';
import { dataLayout, resetDataDir } from './data-dir';
import { readFixtureFacts } from './fixture';
import { type LiveSessionOutcome, walkLiveSession } from './live-session';
import { migratorRunner } from './migrator';
import { runMigration, writeEvidence } from './migration';
import { startDemoService } from './service';
import { demoSettings } from './settings';
import { startStandIns } from './stand-ins';
import { DemoFailure, say } from './steps';
import { renderSummary } from './summary';

/** After the cutover: one session over HTTP against the service in live mode, for a healthy tenant. */
async function liveSession(ctx: DemoContext): Promise<LiveSessionOutcome> {
  const tenant = ctx.facts.tenants.find((t) => !ctx.facts.brokenTenants.includes(t));
  if (!tenant) throw new DemoFailure('the fixture export has no healthy tenant to run a live session for');
  say(`\n▸ live session for ${tenant}: virtual-care-service (VC_MODE=live) over HTTP, outbox relay to the FHIR stand-in`);
  const service = await startDemoService({ ...ctx.env.live, VC_AUTH_HS256_SECRET: ctx.hs256Secret }, ctx.layout.logs, 'live');
  const outcome = await walkLiveSession(
    {
      api: serviceApi(service.url, ctx.hs256Secret),
      consents: (t) => ctx.standIns.accessPolicy.consents(t),
      accessPolicy: createAccessPolicyClient({ baseUrl: ctx.standIns.accessPolicy.url }),
      encounterCount: () => ctx.standIns.fhir.encounterCount(),
      encounterTimeoutMs: 15_000,
    },
    tenant,
  ).finally(() => service.close());
  say(`  every call answered as expected; ${outcome.encounterRef} created by the outbox relay`);
  return outcome;
}

/**
 * `pnpm demo`: S0 → S4 and validate for the checked-in export's tenants, through the real migrator CLI,
 * then one live session over HTTP against the real service — all on embedded defaults (PGlite, the local
 * KMS keyring, in-process stand-ins). Exit 0 when everything behaved as the fixtures call for.
 */
async function main(): Promise<number> {
  const started = Date.now();
  const settings = demoSettings(process.env);
  const { root } = settings;
  const facts = await readFixtureFacts(settings.exportDir);
  const layout = dataLayout(fromRoot(root, settings.dataDir));
  say(
    `virtual-care demo: ${facts.tenants.length} tenants from ${fromRoot(root, settings.exportDir)} (as of ${facts.asOf}); data in ${layout.dir} (cleared first)`,
  );
  await resetDataDir(dataLayout(settings.dataDir));
  const standIns = await startStandIns(facts.tenants);
  say(
    `stand-ins on 127.0.0.1: FHIR R4 ${standIns.fhir.url}, access-policy ${standIns.accessPolicy.url}, Kong Admin ${standIns.kong.url}, licensing ${standIns.licensing.url}, Jitsi ×${standIns.jitsi.size}`,
  );
  try {
    // The EHR already holds the Encounters legacy made; validation looks every legacy encounterRef up there.
    const legacy = createCsvSource(settings.exportDir);
    const held = await seedLegacyEncounters(standIns.fhir.url, legacy, facts.tenants).finally(() => legacy.close());
    say(`FHIR stand-in holds the ${held} Encounters legacy created, as the EHR does`);
    const ctx: DemoContext = {
      root,
      layout,
      facts,
      standIns,
      migrator: migratorRunner(root, layout.logs),
      env: demoEnvironments(settings, layout, facts, standIns),
      hs256Secret: newHs256Secret(),
    };
    const migration = await runMigration(ctx);
    const live = await liveSession(ctx);
    const evidence = await writeEvidence(ctx);
    const at = (p: string) => resolve(root, p);
    say(
      renderSummary({
        tenants: facts.tenants,
        brokenTenants: facts.brokenTenants,
        ...migration,
        live,
        paths: {
          root,
          dataDir: settings.dataDir,
          reports: at(layout.reports),
          logs: at(layout.logs),
          kongFile: at(layout.kongFile),
          parallelRun: at(migration.parallelRunDir),
          evidence: at(evidence),
        },
        elapsedMs: Date.now() - started,
      }),
    );
    return migration.verdicts.every((v) => v.asExpected) ? 0 : 1;
  } finally {
    await standIns.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    // Our own failures say everything in their message; anything else gets its stack, for a bug report.
    if (!(error instanceof DemoFailure) && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
