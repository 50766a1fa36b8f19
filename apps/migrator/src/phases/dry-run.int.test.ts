import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedCounts } from '@vc/fixtures';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator, runMigratorJson } from '../testing/run-cli';

/**
 * A dry run is the real run rolled back: its per-step counts are exactly those of the real run that
 * follows it (S1's 1.2 and 1.5 included, S2 2.4's Encounters), and it leaves the target database, the
 * KMS keyring and FHIR as they were.
 */
const EXPORT_DIR = fileURLToPath(new URL('../../../../fixtures/legacy/csv', import.meta.url));
const expected = JSON.parse(readFileSync(join(EXPORT_DIR, 'expected.json'), 'utf8')) as ExpectedCounts;

interface Summary {
  status: string;
  dryRun: boolean;
  wouldSend?: Record<string, number>;
  steps: Array<{
    tenant: string;
    id: string;
    status: string;
    read: number;
    written: number;
    rejected: number;
    deferred: number;
    warnings: number;
    facts: Record<string, unknown>;
  }>;
}

let db: TestDatabase;
let client: pg.Client;
let fhir: FhirStandIn;
let jitsi: JitsiStandIn;
let work: string;
let env: Record<string, string>;

/** Every row of every table of the target, hashed per table: equal digests mean nothing was written. */
async function targetDigest(): Promise<Record<string, string>> {
  const { rows: tables } = await client.query<{ name: string }>(
    `select format('%I.%I', table_schema, table_name) as name from information_schema.tables where table_schema in ('public', 'vc_migration') and table_type = 'BASE TABLE' order by 1`,
  );
  const digest: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await client.query<{ d: string }>(
      `select count(*) || ':' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as d from ${name} t`,
    );
    digest[name] = rows[0]!.d;
  }
  return digest;
}

/** What a step reports, without its time (a dry run and a real run take different times). */
const counts = (s: Summary) =>
  s.steps.map(({ tenant, id, status, read, written, rejected, deferred, warnings }) => ({ tenant, id, status, read, written, rejected, deferred, warnings }));

beforeAll(async () => {
  [db, fhir, jitsi, work] = await Promise.all([
    createTestDatabase({ migrated: false }),
    startFhirStandIn(),
    startJitsiStandIn(),
    mkdtemp(join(tmpdir(), 'vc-dry-run-')),
  ]);
  env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: EXPORT_DIR,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_MODE: 'shadow',
  };
  const s0 = await runMigrator(['phase', 's0'], env);
  expect(s0.code, s0.stderr).toBe(0);
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await Promise.all([db?.drop(), fhir?.close(), jitsi?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('--dry-run runs the real steps and rolls them back', { timeout: 180_000 }, () => {
  const s1 = ['phase', 's1', '--all-tenants', '--as-of', expected.asOf, '--max-reject-rate', '0.2'];
  const s2 = () => [
    'phase',
    's2',
    '--tenant',
    'acme',
    '--as-of',
    expected.asOf,
    '--window',
    '14d',
    '--min-parallel-pairs',
    '0',
    '--report-dir',
    join(work, 'reports'),
    '--max-reject-rate',
    '0.5',
  ];

  it('s1: every step of the dry run reports the rows the real run then reads and writes (1.2 and 1.5 included), and the dry run writes nothing, not even the keyring', async () => {
    const before = await targetDigest();
    const dry = await runMigratorJson<Summary>([...s1, '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await targetDigest()).toEqual(before);
    expect(existsSync(join(work, 'kms.json'))).toBe(false);

    const real = await runMigratorJson<Summary>(s1, env);
    expect(real.code, real.stderr).toBe(0);
    expect(counts(dry.json)).toEqual(counts(real.json));
    const sessions = (tenant: string) => real.json.steps.find((s) => s.tenant === tenant && s.id === '1.1')!.written;
    for (const tenant of Object.keys(expected.tenants)) {
      const step = (id: string) => dry.json.steps.find((s) => s.tenant === tenant && s.id === id)!;
      expect({ tenant, read12: step('1.2').read }).toEqual({ tenant, read12: sessions(tenant) });
      expect(step('1.5').facts.byStatus).toEqual(real.json.steps.find((s) => s.tenant === tenant && s.id === '1.5')!.facts.byStatus);
    }
    const configs = real.json.steps.filter((s) => s.id === '1.3').reduce((n, s) => n + s.written, 0);
    expect(dry.json.wouldSend).toEqual({ 'kms.Encrypt': configs });
  });

  it('s2: the dry run counts the Encounters 2.4 would create, creates none in FHIR and writes nothing; the real run creates exactly that many', async () => {
    await client.query(`update tenant_virtual_care_configs set jitsi_server_url = $1 where tenant_id = 'acme'`, [jitsi.url]);
    const before = await targetDigest();
    const encounters = await fhir.encounterCount();
    const dry = await runMigratorJson<Summary>([...s2(), '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await targetDigest()).toEqual(before);
    expect(await fhir.encounterCount()).toBe(encounters);
    const wouldCreate = dry.json.wouldSend?.['fhir.createEncounter'] ?? 0;
    expect(wouldCreate).toBeGreaterThan(0);
    expect(dry.json.steps.find((s) => s.id === '2.4')!.facts.backfill).toMatchObject({ created: wouldCreate });

    const real = await runMigratorJson<Summary>(s2(), env);
    expect(real.code, real.stderr).toBe(0);
    expect(counts(dry.json)).toEqual(counts(real.json));
    expect(await fhir.encounterCount()).toBe(encounters + wouldCreate);
  });
});
