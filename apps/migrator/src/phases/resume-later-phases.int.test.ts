import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { normalizeKongConfig, startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator, type CliResult } from '../testing/run-cli';
import { FIXTURE, legacyQuery, loadLegacyDatabases, phiHits, type LegacyDatabases } from '../validate/testing/harness';
import { checkpointRow, runAndKill, startDelayingProxy, tableDigests, type DelayingProxy, type KillPoint } from './resume-support';
import { PAST_THE_GATES } from '../testing/past-the-gates';

/**
 * Exactly-once under interruption for S2–S4 (docs/design.md §6, §9), as s1-resume.int.test.ts does for S1: two
 * targets get the same commands over one legacy load; one runs them clean, the other is killed (SIGKILL
 * mid-page, SIGTERM between batches) inside S2 2.4 (Encounter backfill into FHIR), S3 3.2 (consent import
 * into access-policy) and S4 4.1 (delta sync, then its Encounter backfill), and resumed. Both must end
 * with the same rows, the same consents and Encounters in the outside systems (none twice), and the same
 * exit codes. Small batches and `--concurrency 1` behind a slowed FHIR/access-policy give the kills room.
 */
const AS_OF = FIXTURE.asOf.toISOString();
const TENANT = 'acme';
const SLOW_MS = 30;
const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      routes: [{ name: 'legacy-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};

interface Target {
  db: TestDatabase;
  client: pg.Client;
  fhir: FhirStandIn;
  fhirProxy: DelayingProxy;
  accessPolicy: AccessPolicyStandIn;
  kong: KongAdminStandIn;
  env: Record<string, string>;
  reports: string;
}

let legacy: LegacyDatabases;
let jitsi: JitsiStandIn;
let work: string;
let clean: Target;
let resumed: Target;
const outputs: string[] = [];

const phaseArgs = (phase: string, target: Target, ...extra: string[]) => [
  'phase',
  phase,
  '--tenant',
  TENANT,
  '--as-of',
  AS_OF,
  '--batch-size',
  '5',
  '--concurrency',
  '1',
  '--json',
  ...extra,
  ...(phase === 's2' ? ['--window', '14d', '--report-dir', target.reports, '--min-parallel-pairs', '0'] : []),
];
const S3_FLAGS = ['--max-reject-rate', '0.1'];
// Each resumed S4 run is a new run, which a validate would have to follow: the gates are not what this file tests.
const S4_FLAGS = ['--service-upstream', 'http://virtual-care.internal:8080', '--max-reject-rate', '0.5', ...PAST_THE_GATES];

function record<T extends CliResult>(result: T): T {
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function openTarget(name: string): Promise<Target> {
  const [db, fhir, accessPolicy, kong] = await Promise.all([
    createTestDatabase(),
    startFhirStandIn(),
    startAccessPolicyStandIn(),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
  ]);
  const fhirProxy = await startDelayingProxy(fhir.url, SLOW_MS);
  const client = new pg.Client({ connectionString: db.url });
  // Dropping the database at the end terminates this connection; that is expected, not a failure.
  client.on('error', () => undefined);
  await client.connect();
  const env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KMS: `local:${join(work, `kms-${name}.json`)}`,
    VC_FHIR_BASE_URL: fhirProxy.url,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_KONG_ADMIN_URL: kong.url,
    VC_MODE: 'shadow',
  };
  const s1 = record(await runMigrator(['phase', 's1', '--tenant', TENANT, '--as-of', AS_OF, '--max-reject-rate', '0.5'], env));
  expect(s1.code, s1.stderr).toBe(0);
  // Plan 2.1 deployed the tenant's Jitsi: S2 2.2 tests the connection against it.
  await client.query('update tenant_virtual_care_configs set jitsi_server_url = $1 where tenant_id = $2', [jitsi.url, TENANT]);
  return { db, client, fhir, fhirProxy, accessPolicy, kong, env, reports: join(work, `reports-${name}`) };
}

async function closeTarget(t: Target | undefined): Promise<void> {
  if (!t) return;
  await t.client.end();
  await Promise.all([t.db.drop(), t.fhirProxy.close(), t.fhir.close(), t.accessPolicy.close(), t.kong.close()]);
}

/** Kills the resumed target's run at each point in turn, then runs it to the end; returns the outcomes and the last run. */
async function killThenResume(args: string[], points: KillPoint[]): Promise<{ outcomes: string[]; last: CliResult }> {
  const outcomes: string[] = [];
  for (const point of points) {
    const result = record(await runAndKill(args, resumed.env, point));
    outcomes.push(`${point.label} ${point.signal} ${result.hit ? 'interrupted' : `ran to exit ${result.code}`}`);
  }
  return { outcomes, last: record(await runMigrator(args, resumed.env)) };
}

const hits = (points: KillPoint[]) => points.map((p) => `${p.label} ${p.signal} interrupted`);
const running = async (phase: string, step: string) => (await checkpointRow(resumed.client, TENANT, phase, step))?.status === 'running';

/** The tenant's stored consents in access-policy, and how many distinct legacy identifiers they carry. */
function consentsOf(t: Target): { stored: number; identifiers: number } {
  const stored = t.accessPolicy.consents(TENANT);
  return { stored: stored.length, identifiers: new Set(stored.map((c) => c.identifier.map((i) => `${i.system}|${i.value}`).join(','))).size };
}

const backfillRows = async (t: Target) =>
  Number((await t.client.query<{ n: number }>('select count(*)::int as n from vc_migration.encounter_backfills')).rows[0]!.n);

async function expectSameEndState(): Promise<void> {
  expect(await tableDigests(resumed.client)).toEqual(await tableDigests(clean.client));
  const [cleanEncounters, resumedEncounters] = [await clean.fhir.encounterCount(), await resumed.fhir.encounterCount()];
  expect(resumedEncounters).toBe(cleanEncounters);
  // No Encounter twice: the FHIR server holds exactly the Encounters the migrator recorded.
  expect(resumedEncounters).toBe(await backfillRows(resumed));
  expect(cleanEncounters).toBe(await backfillRows(clean));
  expect(consentsOf(resumed)).toEqual(consentsOf(clean));
  expect(consentsOf(resumed).identifiers).toBe(consentsOf(resumed).stored);
}

beforeAll(async () => {
  [legacy, jitsi, work] = await Promise.all([loadLegacyDatabases('resume'), startJitsiStandIn(), mkdtemp(join(tmpdir(), 'vc-resume-'))]);
  [clean, resumed] = [await openTarget('clean'), await openTarget('resumed')];
  expect(await tableDigests(resumed.client)).toEqual(await tableDigests(clean.client));
}, 300_000);

afterAll(async () => {
  await Promise.all([closeTarget(clean), closeTarget(resumed)]);
  await Promise.all([legacy?.drop(), jitsi?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('S2–S4 killed and resumed end like a clean run', { timeout: 240_000 }, () => {
  it('S2 killed (SIGKILL, then SIGTERM) while 2.4 creates Encounters in FHIR, resumed: same rows, each Encounter once, exit 0 like the clean run', async () => {
    const cleanRun = record(await runMigrator(phaseArgs('s2', clean), clean.env));
    expect(cleanRun.code, cleanRun.stderr).toBe(0);
    let killedAt = 0;
    const points: KillPoint[] = [
      // Mid-page: Encounters exist in FHIR that no commit has recorded yet.
      { label: '2.4 mid-page', signal: 'SIGKILL', reached: async () => (await running('s2', '2.4')) && (killedAt = await resumed.fhir.encounterCount()) >= 3 },
      // The resumed run re-sends the page (the conditional create finds the earlier ones), then makes new ones.
      {
        label: '2.4 resumed page',
        signal: 'SIGTERM',
        reached: async () => (await running('s2', '2.4')) && (await resumed.fhir.encounterCount()) >= killedAt + 3,
      },
    ];
    const { outcomes, last } = await killThenResume(phaseArgs('s2', resumed), points);
    expect(outcomes).toEqual(hits(points));
    expect(last.code, last.stderr).toBe(cleanRun.code);
    await expectSameEndState();
    expect(await backfillRows(resumed)).toBeGreaterThan(6);
    // The SIGKILL landed between FHIR and the commit: the resumed run found, and recorded, what it had made.
    const { rows } = await resumed.client.query<{ n: number }>('select count(*)::int as n from vc_migration.encounter_backfills where not created');
    expect(rows[0]!.n).toBeGreaterThanOrEqual(3);
  });

  it('S3 killed (SIGKILL, then SIGTERM) during the consent import 3.2, resumed: the same consents in access-policy, none twice, exit 0 like the clean run', async () => {
    const cleanRun = record(await runMigrator(phaseArgs('s3', clean, ...S3_FLAGS), clean.env));
    expect(cleanRun.code, cleanRun.stderr).toBe(0);
    const points: KillPoint[] = [
      {
        label: '3.2 after 1 batch',
        signal: 'SIGKILL',
        reached: async () => (await running('s3', '3.2')) && (await checkpointRow(resumed.client, TENANT, 's3', '3.2'))!.read >= 5,
      },
      {
        label: '3.2 after 3 batches',
        signal: 'SIGTERM',
        reached: async () => (await running('s3', '3.2')) && (await checkpointRow(resumed.client, TENANT, 's3', '3.2'))!.read >= 15,
      },
    ];
    resumed.accessPolicy.setDelayMs(SLOW_MS);
    const { outcomes, last } = await killThenResume(phaseArgs('s3', resumed, ...S3_FLAGS), points).finally(() => resumed.accessPolicy.setDelayMs(0));
    expect(outcomes).toEqual(hits(points));
    expect(last.code, last.stderr).toBe(cleanRun.code);
    const expected = legacy.expected.tenants[TENANT]!.consents;
    expect(consentsOf(resumed)).toEqual({ stored: expected.active + expected.inactive, identifiers: expected.active + expected.inactive });
    await expectSameEndState();
  });

  it('S4 stopped (SIGTERM) mid delta sync and killed (SIGKILL) mid Encounter backfill of 4.1, resumed: same rows, Encounters and routing, exit 0 like the clean run', async () => {
    // Legacy kept working after S1: sessions booked as cancelled took place after all, and have no Encounter.
    await legacyQuery(
      legacy.legacyUrl,
      `update VirtualSession set status = 'completed', startedAt = scheduledStart, endedAt = scheduledEnd, encounterRef = null, updatedAt = '2026-11-02 09:00:00'
        where tenantId = ? and lower(trim(status)) = 'cancelled' and patientRef <> '' and scheduledStart is not null and scheduledEnd > scheduledStart order by id limit 10`,
      [TENANT],
    );
    const cleanRun = record(await runMigrator(phaseArgs('s4', clean, ...S4_FLAGS), clean.env));
    expect(cleanRun.code, cleanRun.stderr).toBe(0);
    const before = await resumed.fhir.encounterCount();
    const points: KillPoint[] = [
      {
        label: '4.1 sessions pass',
        signal: 'SIGTERM',
        reached: async () => {
          const cp = await checkpointRow(resumed.client, TENANT, 's4', '4.1');
          return cp?.status === 'running' && cp.read >= 10 && cp.cursor?.stage === undefined;
        },
      },
      {
        label: '4.1 encounter page',
        signal: 'SIGKILL',
        reached: async () => (await running('s4', '4.1')) && (await resumed.fhir.encounterCount()) >= before + 2,
      },
    ];
    const { outcomes, last } = await killThenResume(phaseArgs('s4', resumed, ...S4_FLAGS), points);
    expect(outcomes).toEqual(hits(points));
    expect(last.code, last.stderr).toBe(cleanRun.code);
    await expectSameEndState();
    const s4Backfills = await resumed.client.query<{ n: number }>(`select count(*)::int as n from vc_migration.encounter_backfills where phase = 's4'`);
    expect(s4Backfills.rows[0]!.n).toBeGreaterThanOrEqual(2);
    expect(normalizeKongConfig(resumed.kong.current())).toEqual(normalizeKongConfig(clean.kong.current()));
  });

  it('no output of the killed, resumed or clean runs carries a patient ref, display name or secret', () => {
    expect(
      phiHits(
        outputs.map((text, i) => ({ path: `run#${i}`, text })),
        legacy.sensitive,
      ),
    ).toEqual([]);
  });
});
