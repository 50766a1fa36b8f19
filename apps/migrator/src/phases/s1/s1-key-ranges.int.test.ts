import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql, type ExpectedCounts } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { runPhase } from '../../engine/run-phase';
import { createServices } from '../../engine/services';
import type { KeyRange, RunOptions } from '../../engine/types';
import { createMysqlSource } from '../../legacy/mysql-source';
import { rangeCheckpointKey, type KeyRangeSpec } from '../../scale/plan';
import { cutTenants } from '../../scale/split';
import { pgQuery, s1Snapshot } from '../../testing/counts';
import { runMigrator } from '../../testing/run-cli';
import { s1Phase } from './steps';

/**
 * S1 of a tenant split into key ranges (distributed plans, `enqueue --split-larger-than`), its ranges run in
 * the worst order: every step's ranges last to first, so a higher legacy id claims a shared externalId
 * before the lower one that a single run would have loaded. The target must equal a single run's, table
 * for table, with and without the participant pushdown.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const RUN = ['--as-of', AS_OF, '--batch-size', '23', '--max-reject-rate', '0.2'];
const SPLIT_AT = 60;

let legacy: TestMysqlDatabase;
let expected: ExpectedCounts;
let work: string;
let reference: Record<string, unknown[]>;
let split: string;
const targets: TestDatabase[] = [];

function env(target: TestDatabase, over: Record<string, string> = {}): Record<string, string> {
  return {
    VC_DATABASE_URL: target.url,
    VC_LEGACY_DATABASE_URL: legacy.url,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    ...over,
  };
}

async function snapshot(target: TestDatabase): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    return await s1Snapshot(pgQuery(client));
  } finally {
    await client.end();
  }
}

async function freshTarget(): Promise<TestDatabase> {
  const target = await createTestDatabase({ migrated: false });
  targets.push(target);
  return target;
}

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_mig_ranges');
  ({ expected } = await loadIntoMysql(legacy.url, {
    tenants: 3,
    sessions: 450,
    auditPerSession: 4,
    seed: 4242,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  }));
  work = await mkdtemp(join(tmpdir(), 'vc-s1-ranges-'));
  split = Object.keys(expected.tenants).sort()[0]!;
  // Legacy rows that share an externalId across key ranges (legacy's unique key was not everywhere): copies of
  // the tenant's first historical sessions with uuid externalIds, placed at the end of its key space.
  const c = await mysql.createConnection({ uri: legacy.url, database: legacy.databases.digitalCommunication });
  try {
    await c.query('alter table VirtualSession drop index uq_VirtualSession_externalId');
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `select id from VirtualSession where tenantId = ? and externalId regexp '^[0-9a-f]{8}-' and status = 'ended' order by id limit 2`,
      [split],
    );
    const [[top]] = await c.query<mysql.RowDataPacket[]>('select max(id) as id from VirtualSession');
    const copies: Array<[number, number, boolean]> = [
      [Number(rows[0]!.id), Number(top!.id) + 10, false],
      [Number(rows[0]!.id), Number(top!.id) + 20, true],
      [Number(rows[1]!.id), Number(top!.id) + 30, false],
    ];
    for (const [from, id, upper] of copies) {
      await c.query('create temporary table twin as select * from VirtualSession where id = ?', [from]);
      await c.query(`update twin set id = ?${upper ? ', externalId = upper(externalId)' : ''}`, [id]);
      await c.query('insert into VirtualSession select * from twin');
      await c.query('drop temporary table twin');
    }
  } finally {
    await c.end();
  }
  const single = await freshTarget();
  expect((await runMigrator(['phase', 's0'], env(single))).code).toBe(0);
  const run = await runMigrator(['phase', 's1', '--all-tenants', ...RUN], env(single));
  expect(run.code, run.stderr).toBe(0);
  reference = await snapshot(single);
}, 240_000);

afterAll(async () => {
  for (const target of targets) await target.drop();
  await legacy?.drop();
  await rm(work, { recursive: true, force: true });
});

/** Runs S1 as a split plan would: ranges of 1.1, then of 1.4, each last to first, then each tenant's whole phase. */
async function runSplit(target: TestDatabase, over: Record<string, string>): Promise<Map<string, KeyRangeSpec[]>> {
  expect((await runMigrator(['phase', 's0'], env(target, over))).code).toBe(0);
  const config = loadConfig(env(target, over));
  const handle: DatabaseHandle = await createDatabase(target.url);
  const services = createServices(config);
  const reader = createMysqlSource(legacy.url);
  const options: RunOptions = { dryRun: false, batchSize: 23, concurrency: 2, asOf: new Date(AS_OF), maxRejectRate: 0.2 };
  const base = {
    options,
    config,
    handle,
    services,
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    progress: { tty: false, quiet: true },
  };
  try {
    const tenants = Object.keys(expected.tenants).sort();
    const splits = await cutTenants(handle.db, reader.ranges!, tenants, SPLIT_AT);
    const range = (spec: KeyRangeSpec): KeyRange => ({ key: rangeCheckpointKey('plan-test', spec), after: spec.after, until: spec.until });
    for (const step of ['1.1', '1.4'] as const) {
      for (const [tenantId, specs] of splits) {
        for (const spec of specs.filter((s) => s.step === step).reverse()) {
          const phase = { ...s1Phase, steps: s1Phase.steps.filter((s) => s.id === step) };
          const summary = await runPhase({ ...base, phase, tenants: [tenantId], range: range(spec) });
          expect(summary.status, JSON.stringify(summary.errors)).toBe('done');
        }
      }
    }
    for (const tenantId of tenants) {
      const specs = splits.get(tenantId);
      const ranges = specs && { '1.1': specs.filter((s) => s.step === '1.1').map(range), '1.4': specs.filter((s) => s.step === '1.4').map(range) };
      const summary = await runPhase({ ...base, phase: s1Phase, tenants: [tenantId], ...(ranges ? { split: { ranges } } : {}) });
      expect(summary.status, JSON.stringify(summary.errors)).toBe('done');
    }
    return splits;
  } finally {
    await reader.close();
    await services.close();
    await handle.close();
  }
}

describe('s1 by key ranges, ranges in reverse order', () => {
  it('cuts every tenant past the threshold into ranges, and ends equal to a single run (per-row fold)', async () => {
    const target = await freshTarget();
    const splits = await runSplit(target, {});
    // Every tenant has more than 60 sessions: each is cut, both steps into several ranges.
    expect([...splits.keys()]).toEqual(Object.keys(expected.tenants).sort());
    for (const specs of splits.values()) {
      expect(specs.filter((s) => s.step === '1.1').length).toBeGreaterThan(1);
      expect(specs.filter((s) => s.step === '1.4').length).toBeGreaterThan(2);
    }
    const got = await snapshot(target);
    expect(got).toEqual(reference);
    // The copies lost their externalId to the lower legacy id, as in the single run, though they committed first.
    const clashes = (got.rejects as Array<{ tenant_id: string; reason: string }>).filter((r) => r.tenant_id === split && r.reason === 'duplicate_external_id');
    expect(clashes).toHaveLength(3);
  }, 240_000);

  it('ends equal to a single run with the participant pushdown', async () => {
    const target = await freshTarget();
    await runSplit(target, { VC_LEGACY_PUSHDOWN: 'on' });
    expect(await snapshot(target)).toEqual(reference);
  }, 240_000);
});
