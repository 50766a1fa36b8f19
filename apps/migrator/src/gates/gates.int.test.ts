import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { normalizeKongConfig, startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freeTextDigest } from '../ledger/canonical';
import { runInProcess } from '../phases/s4/testing/in-process-cli';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator } from '../testing/run-cli';

/**
 * The phase pipeline (docs/design.md §11) on real PostgreSQL: each gate refuses with exit 2 naming the gate
 * and the command that clears it, before anything is written; `--force --reason` runs past it and the run
 * ledger keeps who and why; the Kong cutover names every tenant whose traffic it moves. State the gates read
 * (S2's GO, a validate's verdict, a cutover in force) is seeded where running the phase is not the point.
 */
const AS_OF = '2026-11-01T00:00:00Z';
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
let target: CsvTarget;
let client: pg.Client;
let fhir: FhirStandIn;
let kong: KongAdminStandIn;
let env: Record<string, string>;

const cli = (...args: string[]) => runInProcess(args);
const s4 = (...extra: string[]) =>
  cli('phase', 's4', '--tenant', 'acme', '--as-of', AS_OF, '--service-upstream', 'http://vc.internal:8080', '--max-reject-rate', '0.5', '--json', ...extra);
const runsOf = async (tenant: string, phase: string) =>
  (
    await client.query<{ status: string }>('select status from vc_migration.runs where tenant_id = $1 and phase = $2 order by started_at', [tenant, phase])
  ).rows.map((r) => r.status);
const checkpoint = async (tenant: string, phase: string, step: string) =>
  (
    await client.query<{ status: string; error: string | null; facts: Record<string, unknown> | null }>(
      'select status, error, facts from vc_migration.step_checkpoints where tenant_id = $1 and phase = $2 and step_id = $3',
      [tenant, phase, step],
    )
  ).rows[0];

/** S2 recorded GO for the tenant (its three steps done, 2.3's decision go), as a real S2 leaves it. */
async function seedS2Go(tenant: string): Promise<void> {
  for (const step of ['2.2', '2.3', '2.4']) {
    const facts = step === '2.3' ? { parallelRun: { decision: 'go', reasons: [] } } : {};
    await client.query(`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, facts) values ($1, 's2', $2, 'done', $3)`, [
      tenant,
      step,
      JSON.stringify(facts),
    ]);
  }
  await client.query(`insert into vc_migration.runs (tenant_id, phase, status, finished_at) values ($1, 's2', 'done', now())`, [tenant]);
}

/** Times are stored to the millisecond: a pause keeps each seeded row in a millisecond after the last. */
const nextMillisecond = () => client.query('select pg_sleep(0.002)');
async function seedValidation(tenant: string, status: 'pass' | 'fail', failed: string[] = []): Promise<void> {
  await nextMillisecond();
  await client.query(
    `insert into vc_migration.validations (tenant_id, status, checks, failed_checks, as_of, started_at) values ($1, $2, 12, $3, $4, clock_timestamp())`,
    [tenant, status, failed, AS_OF],
  );
}

beforeAll(async () => {
  [target, fhir, kong] = await Promise.all([
    openCsvTarget('vc-gates-', { tenants: 3, sessions: 12, auditPerSession: 1, seed: 11, asOf: AS_OF }),
    startFhirStandIn(),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
  ]);
  client = target.client;
  env = {
    ...target.env,
    VC_LOG_LEVEL: 'silent',
    VC_FHIR_BASE_URL: fhir.url,
    VC_KONG_ADMIN_URL: kong.url,
    // Named so the settings checks pass; a refused run never reaches them.
    VC_ACCESS_POLICY_URL: 'http://127.0.0.1:9',
    VC_NATS_URL: 'nats://127.0.0.1:9',
    VC_OPERATOR: 'ops-jane',
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const s1 = await cli('phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5');
  expect(s1.code, s1.error).toBe(0);
}, 240_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all([target?.close(), fhir?.close(), kong?.close()]);
});

describe('phase gates', { timeout: 120_000 }, () => {
  it('s2 and s3 before s1 are refused (exit 2) naming the gate and the command that clears it, and write nothing; a dry run alike', async () => {
    for (const phase of ['s2', 's3']) {
      const run = await cli('phase', phase, '--tenant', 'globex', '--as-of', AS_OF);
      expect(run.code, run.error).toBe(2);
      expect(run.error).toContain(
        `phase ${phase} refused by its gates:\n  globex: gate s1-done — s1 has not run (clear: pnpm migrator phase s1 --tenant globex)`,
      );
      expect(run.error).toContain('--force --reason');
    }
    expect((await cli('phase', 's2', '--tenant', 'globex', '--as-of', AS_OF, '--dry-run')).code).toBe(2);
    expect(await runsOf('globex', 's2')).toEqual([]);
    expect(await runsOf('globex', 's3')).toEqual([]);
  });

  it('--all-tenants is refused as a whole when any tenant fails its gate, listing each', async () => {
    const run = await cli('phase', 's3', '--all-tenants', '--as-of', AS_OF);
    expect(run.code).toBe(2);
    expect(run.error).toMatch(/globex: gate s1-done[^\n]*\n {2}initech: gate s1-done/);
    expect(run.error).not.toContain('acme: gate');
    expect(await runsOf('acme', 's3')).toEqual([]);
  });

  it('s3 after the cutover is refused (legacy would overwrite what access-policy took since); after a rollback it is not', async () => {
    const record = (action: string) =>
      client.query(`insert into vc_migration.cutovers (tenant_id, action, created_at) values ('acme', $1, clock_timestamp())`, [action]);
    try {
      await record('cutover');
      const run = await cli('phase', 's3', '--tenant', 'acme', '--as-of', AS_OF);
      expect(run.code, run.error).toBe(2);
      expect(run.error).toMatch(/acme: gate not-cut-over — the tenant was cut over at [^ ]+: access-policy now holds the consents given or revoked since/);
      expect(run.error).toContain('(clear: pnpm migrator rollback s4 --tenant acme)');
      await record('rollback');
      const after = await cli('phase', 's3', '--tenant', 'acme', '--as-of', AS_OF, '--dry-run');
      expect(after.error ?? '').not.toContain('not-cut-over');
    } finally {
      await client.query(`delete from vc_migration.cutovers where tenant_id = 'acme'`);
    }
    expect(await runsOf('acme', 's3')).toEqual([]);
  });

  it('enqueue is gated like phase, before anything is published', async () => {
    const run = await cli('enqueue', 'phase', 's3', '--all-tenants');
    expect(run.code).toBe(2);
    expect(run.error).toContain('enqueue phase s3 refused by its gates:');
    expect(run.error).toContain('globex: gate s1-done');
    expect((await client.query('select count(*)::int as n from vc_migration.plans')).rows[0].n).toBe(0);
  });

  it('--force without --reason is a usage error (exit 2), for phase and enqueue', async () => {
    for (const args of [
      ['phase', 's2', '--tenant', 'globex', '--force'],
      ['phase', 's2', '--tenant', 'globex', '--force', '--reason', '  '],
      ['enqueue', 'phase', 's3', '--all-tenants', '--force'],
    ]) {
      const run = await cli(...args);
      expect([run.code, run.error]).toEqual([2, expect.stringContaining('--force needs --reason "<why>"')]);
    }
  });

  it('s4 needs S2 GO and a passing validate newer than the last run, and every tenant the first cutover moves must pass too', async () => {
    const noS2 = await s4();
    expect(noS2.code).toBe(2);
    expect(noS2.error).toContain('acme: gate s2-go — s2 is not GO: s2 has not run (clear: pnpm migrator phase s2 --tenant acme)');
    expect(noS2.error).toContain('acme: gate validate-pass — no `migrator validate` recorded for the tenant (clear: pnpm migrator validate --tenant acme)');

    await seedValidation('acme', 'fail', ['configs.migrated']);
    await seedS2Go('acme');
    expect((await s4()).error).toContain('acme: gate validate-pass — the last validate');

    await seedValidation('acme', 'pass');
    await nextMillisecond();
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status, finished_at) values ('acme', 's3', 'done', clock_timestamp())`);
    const stale = await s4();
    expect(stale.error).toMatch(/acme: gate validate-fresh — the last passing validate \(.+\) is older than the tenant's last s3 run/);

    await seedValidation('acme', 'pass');
    const others = await s4();
    expect(others.code).toBe(2);
    expect(others.error).not.toContain('acme: gate');
    expect(others.error).toContain('globex: gate s2-go — its traffic moves too (Kong routing is gateway-wide: acme, globex, initech); s2 is not GO');
    expect(others.error).toContain('initech: gate validate-pass');
    expect(await runsOf('acme', 's4')).toEqual([]);
    expect(normalizeKongConfig(kong.current())).toEqual(normalizeKongConfig(LEGACY_ROUTING));
  });

  // runbooks/rehearsal.md: rehearsing one tenant, its S4 dry run is refused like the real run (the other legacy
  // tenants have not passed their gates); with --force --reason it prints the Kong plan and records nothing.
  it('an S4 dry run is gated like the real run; forced, it prints the Kong plan and records nothing', async () => {
    const ledgerRows = async () => (await client.query('select count(*)::int as n from vc_migration.ledger')).rows[0].n as number;
    const before = { ledger: await ledgerRows(), runs: await runsOf('acme', 's4') };
    const args = ['phase', 's4', '--tenant', 'acme', '--as-of', AS_OF, '--service-upstream', 'http://127.0.0.1:8080', '--max-reject-rate', '0.5', '--dry-run'];
    const refused = await runMigrator(args, env);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(
      'phase s4 refused by its gates:\n  globex: gate s2-go — its traffic moves too (Kong routing is gateway-wide: acme, globex, initech)',
    );
    const forced = await runMigrator([...args, '--force', '--reason', 'rehearsal: acme only'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('gates overridden by --force (reason: "rehearsal: acme only"; dry run: nothing recorded):\n  globex: gate s2-go');
    expect(forced.stderr).toMatch(
      /Kong plan for .+ \(tenant acme, dry run: nothing applied\):\n {2}\+ service virtual-care-service: url http:\/\/127\.0\.0\.1:8080/,
    );
    expect(forced.stdout).toContain('phase s4 acme: done (dry run: nothing written)');
    expect({ ledger: await ledgerRows(), runs: await runsOf('acme', 's4') }).toEqual(before);
    expect(normalizeKongConfig(kong.current())).toEqual(normalizeKongConfig(LEGACY_ROUTING));
  });

  it('the Kong step itself names every tenant whose traffic moves and refuses while one fails its gate; --force --reason applies it, recorded', async () => {
    // A cutover already recorded for another tenant passes the check at the start; the gateway is still on legacy.
    await client.query(`insert into vc_migration.cutovers (tenant_id, action) values ('initech', 'cutover')`);
    const refused = await s4();
    expect(refused.code).toBe(2);
    expect(refused.error).toContain('phase s4 step 4.2 (Kong cutover moving the traffic of acme, globex, initech) refused by its gates:');
    expect(refused.error).toContain('globex: gate s2-go');
    expect(normalizeKongConfig(kong.current())).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    expect(await checkpoint('acme', 's4', '4.2')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('Kong cutover moving the traffic of acme, globex, initech'),
    });
    expect(await runsOf('acme', 's4')).toEqual(['failed']);

    const forced = await s4('--force', '--reason', 'CHG-42 globex and initech cut over by their own change');
    expect(forced.code, forced.error).toBe(0);
    expect(normalizeKongConfig(kong.current())).not.toEqual(normalizeKongConfig(LEGACY_ROUTING));
    const step = (JSON.parse(forced.stdout) as { steps: Array<{ id: string; facts?: Record<string, unknown> }> }).steps.find((s) => s.id === '4.2')!;
    expect(step.facts).toMatchObject({
      trafficMoves: ['acme', 'globex', 'initech'],
      overrideReason: freeTextDigest('CHG-42 globex and initech cut over by their own change'),
    });
    expect(step.facts!.gatesOverridden).toEqual([
      expect.stringMatching(/^globex s2-go: its traffic moves too/),
      expect.stringMatching(/^globex validate-pass/),
      expect.stringMatching(/^initech s2-go/),
      expect.stringMatching(/^initech validate-pass/),
    ]);
    expect(step.facts!.kongPlan).toEqual(expect.arrayContaining([expect.stringMatching(/^\+ service virtual-care-service: url http:\/\/vc\.internal:8080/)]));
  });

  it("an override is recorded in the run ledger: which gate, why it failed, the reason's digest, who; the ledger still verifies", async () => {
    const run = await runMigrator(['phase', 's2', '--tenant', 'globex', '--as-of', AS_OF, '--force', '--reason', 'CHG-7 rehearsal of s2 alone'], env);
    // Past the gate the phase really runs: globex has no config yet, so 2.2 fails (exit 1), not the gate (2).
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('gates overridden by --force (reason: "CHG-7 rehearsal of s2 alone"; recorded in the run ledger):\n  globex: gate s1-done');
    const { rows } = await client.query<{ entry: Record<string, unknown>; tenants: string[] }>(
      `select entry, tenants from vc_migration.ledger order by seq desc limit 1`,
    );
    expect(rows[0]!.tenants).toEqual(['globex']);
    expect(rows[0]!.entry).toMatchObject({
      command: 'phase s2',
      operator: 'ops-jane',
      osUser: expect.any(String),
      exitCode: 1,
      overrides: [{ phase: 's2', tenant: 'globex', gate: 's1-done', why: 's1 has not run', reason: freeTextDigest('CHG-7 rehearsal of s2 alone') }],
    });
    // The reason itself is the change ticket's: the ledger keeps its digest only.
    expect(JSON.stringify(rows[0]!.entry)).not.toContain('rehearsal');
    const verify = await cli('ledger', 'verify');
    expect(verify.code, verify.error).toBe(0);
  });
});
