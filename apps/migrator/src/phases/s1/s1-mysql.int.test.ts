import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql, type ExpectedCounts } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedS1, pgQuery, s1Counts, s1Snapshot } from '../../testing/counts';
import { runMigrator, runMigratorJson } from '../../testing/run-cli';

/** S1 from a legacy MariaDB (keyset pagination) into PostgreSQL 15, against the generator's expected counts. */
const AS_OF = '2026-11-01T00:00:00Z';

let legacy: TestMysqlDatabase;
let target: TestDatabase;
let client: pg.Client;
let work: string;
let expected: ExpectedCounts;
let env: Record<string, string>;

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_mig_s1');
  ({ expected } = await loadIntoMysql(legacy.url, {
    tenants: 3,
    sessions: 900,
    auditPerSession: 5,
    seed: 31337,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  }));
  target = await createTestDatabase({ migrated: false });
  work = await mkdtemp(join(tmpdir(), 'vc-s1-mysql-'));
  env = {
    VC_DATABASE_URL: target.url,
    VC_LEGACY_DATABASE_URL: legacy.url,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  expect((await runMigrator(['phase', 's0'], env)).code).toBe(0);
  client = new pg.Client({ connectionString: target.url });
  client.on('error', () => undefined);
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await target?.drop();
  await legacy?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('s1 from MariaDB into PostgreSQL', () => {
  it('loads, rejects and warns exactly as the generator expects, for every tenant, in small keyset batches', async () => {
    const { code, json, stderr } = await runMigratorJson<{ status: string; tenants: string[]; steps: Array<{ tenant: string; id: string }> }>(
      ['phase', 's1', '--all-tenants', '--as-of', AS_OF, '--batch-size', '97', '--max-reject-rate', '0.2'],
      env,
    );
    expect(code, stderr).toBe(0);
    expect(json.tenants).toEqual(Object.keys(expected.tenants).sort());
    // Tenants run side by side, yet the report lists them in tenant order, each tenant's steps in plan order.
    expect(json.steps.map((s) => `${s.tenant} ${s.id}`)).toEqual(json.tenants.flatMap((t) => ['1.1', '1.2', '1.3', '1.4', '1.5'].map((id) => `${t} ${id}`)));
    for (const tenant of Object.keys(expected.tenants)) {
      expect({ tenant, ...(await s1Counts(pgQuery(client), tenant)) }).toEqual({ tenant, ...expectedS1(expected.tenants[tenant]!) });
    }
  });

  it('the id map names one new id per loaded legacy session, and S1 records its as-of watermark for s4', async () => {
    const { rows } = await client.query(
      `select (select count(*) from vc_migration.id_map m join virtual_sessions s on s.id::text = m.new_id and s.legacy_id = m.legacy_id and s.tenant_id = m.tenant_id)::int as mapped,
              (select count(*) from virtual_sessions)::int as sessions,
              (select array_agg(distinct facts->>'asOf') from vc_migration.step_checkpoints where phase = 's1' and step_id in ('1.1', '1.5')) as watermarks`,
    );
    expect(rows[0]).toEqual({ mapped: rows[0].sessions, sessions: rows[0].sessions, watermarks: ['2026-11-01T00:00:00.000Z'] });
  });

  it('--all-tenants (tenants side by side, small batches) wrote exactly the rows of running the tenants one by one, with 1.4 grouped in MariaDB', async () => {
    const tenants = Object.keys(expected.tenants).sort();
    const one = await createTestDatabase({ migrated: false });
    const oneClient = new pg.Client({ connectionString: one.url });
    try {
      // VC_LEGACY_PUSHDOWN=on: the participants, rejects and counts of 1.4 folded in MariaDB equal the streaming fold's.
      const oneEnv = { ...env, VC_DATABASE_URL: one.url, VC_LEGACY_PUSHDOWN: 'on' };
      expect((await runMigrator(['phase', 's0'], oneEnv)).code).toBe(0);
      for (const tenant of tenants) {
        // Default batches: batch boundaries must not change a row either.
        const result = await runMigrator(['phase', 's1', '--tenant', tenant, '--as-of', AS_OF, '--max-reject-rate', '0.2'], oneEnv);
        expect(result.code, result.stderr).toBe(0);
      }
      await oneClient.connect();
      expect(await s1Snapshot(pgQuery(oneClient))).toEqual(await s1Snapshot(pgQuery(client)));
    } finally {
      await oneClient.end();
      await one.drop();
    }
  }, 300_000);
});
