import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { runMigrator } from '../../testing/run-cli';

/**
 * One odd legacy row among many never stops S1 1.1: it is rejected with a reason and its raw row, the
 * rest loads. Legacy's real schema drifted from the DDL (wider ref columns, no unique externalId), so
 * the MariaDB here is altered the same way.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const EXTERNAL = '6c1f6a0e-3c9b-4b1e-9a55-2f1d6c0b7e11';

let legacy: TestMysqlDatabase;
let mariadb: mysql.Connection;
let target: TestDatabase;
let client: pg.Client;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  legacy = await createTestMysqlDatabase('vc_hostile');
  const { expected } = await loadIntoMysql(legacy.url, { tenants: 1, sessions: 10, auditPerSession: 1, seed: 7, asOf: new Date(AS_OF), databases: legacy.databases });
  mariadb = await mysql.createConnection(legacy.url);
  await mariadb.query('ALTER TABLE VirtualSession DROP INDEX idx_VirtualSession_tenantId_patientRef, MODIFY patientRef TEXT NULL, MODIFY practitionerRef TEXT NULL, DROP INDEX uq_VirtualSession_externalId');
  target = await createTestDatabase({ migrated: false });
  work = await mkdtemp(join(tmpdir(), 'vc-hostile-'));
  env = { VC_DATABASE_URL: target.url, VC_LEGACY_DATABASE_URL: legacy.url, VC_LEGACY_MASTER_KEY: expected.legacyMasterKey, VC_KMS: `local:${join(work, 'kms.json')}` };
  expect((await runMigrator(['phase', 's0'], env)).code).toBe(0);
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await mariadb?.end();
  await target?.drop();
  await legacy?.drop();
  await rm(work, { recursive: true, force: true });
});

type Row = Record<string, string | null>;
const base = (tenant: string, overrides: Row = {}): Row => ({
  tenantId: tenant, externalId: null, patientRef: 'Patient/p-1', practitionerRef: null, scheduledStart: '2025-06-01 10:00:00', scheduledEnd: '2025-06-01 10:30:00',
  startedAt: null, endedAt: null, status: 'completed', videoBackend: 'jitsi', roomName: null, cancelReason: null, encounterRef: null,
  createdAt: '2025-05-01 08:00:00', updatedAt: '2025-05-01 08:00:00', ...overrides,
});

async function insertMysql(rows: Row[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) {
    const [result] = await mariadb.query<mysql.ResultSetHeader>('INSERT INTO VirtualSession SET ?', [row]);
    ids.push(String(result.insertId));
  }
  return ids;
}

const s1 = (tenant: string, csvDir?: string) => {
  const { VC_LEGACY_DATABASE_URL: mysqlUrl, ...rest } = env;
  return runMigrator(['phase', 's1', '--tenant', tenant, '--as-of', AS_OF, '--max-reject-rate', '1', '--batch-size', '3'], csvDir ? { ...rest, VC_LEGACY_EXPORT_DIR: csvDir } : { ...rest, VC_LEGACY_DATABASE_URL: mysqlUrl! });
};

async function outcome(tenant: string) {
  const [cp] = (await client.query(`select status, read, written, rejected, deferred from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1'`, [tenant])).rows;
  const rejects = (await client.query(`select legacy_key, reason, raw from vc_migration.rejects where tenant_id = $1 and step_id = '1.1' order by legacy_key`, [tenant])).rows;
  const loaded = (await client.query(`select id::text, legacy_id from virtual_sessions where tenant_id = $1 order by legacy_id`, [tenant])).rows;
  return { cp, rejects, loaded };
}

describe('one bad legacy row on MariaDB is one reject; the batch loads', () => {
  it('a 10 kB patientRef or practitionerRef, a NUL in patientRef, and a second row with a taken externalId', async () => {
    const t = 'hostile-cases';
    const ids = await insertMysql([
      base(t),
      base(t, { patientRef: 'P'.repeat(10_240) }),
      base(t, { practitionerRef: 'D'.repeat(10_240) }),
      base(t, { patientRef: 'Patient/\u0000p-4' }),
      base(t, { externalId: EXTERNAL }),
      base(t, { externalId: EXTERNAL }),
      base(t),
    ]);
    const run = await s1(t);
    expect(run.code, run.stderr).toBe(0);
    const { cp, rejects, loaded } = await outcome(t);
    expect(cp).toEqual({ status: 'done', read: 7, written: 3, rejected: 4, deferred: 0 });
    expect(rejects.map((r) => [r.legacy_key, r.reason])).toEqual(
      [[ids[1], 'field_too_long'], [ids[2], 'field_too_long'], [ids[3], 'invalid_text'], [ids[5], 'duplicate_external_id']].sort(),
    );
    // The raw row is kept whole: the long value as it was, the NUL as escape text (jsonb cannot hold it).
    const raw = (id: string) => rejects.find((r) => r.legacy_key === id)!.raw;
    expect(raw(ids[1]!).patientRef).toBe('P'.repeat(10_240));
    expect([raw(ids[3]!).patientRef, raw(ids[3]!).$escaped]).toEqual(['Patient/\\u0000p-4', ['patientRef']]);
    // The first row with the externalId keeps it as its id.
    expect(loaded).toContainEqual({ id: EXTERNAL, legacy_id: ids[4] });
    expect(loaded.map((l) => l.legacy_id).sort()).toEqual([ids[0], ids[4], ids[6]].sort());
    // A second run changes nothing.
    expect((await s1(t)).code).toBe(0);
    expect(await outcome(t)).toEqual({ cp, rejects, loaded });
  }, 180_000);
});

// Hostile values: any unicode (lone surrogates included), NUL, huge strings, bad dates, shared externalIds.
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constant(''), fc.constant(null), fc.string({ maxLength: 5 }).map((s) => `${s}\u0000`), fc.nat(3).map((n) => 'x'.repeat(1000 + n * 3000)));
const date = fc.oneof(fc.constant('2025-06-01 10:00:00'), fc.constant('2026-12-24 10:00:00'), fc.constant('0000-00-00 00:00:00'), fc.string({ unit: 'binary', maxLength: 12 }), fc.constant(null));
const hostileRow = fc.record({
  externalId: fc.oneof(fc.constant(null), fc.constant(EXTERNAL), fc.uuid()),
  patientRef: text, practitionerRef: text, roomName: text, cancelReason: text, status: fc.constantFrom('completed', 'cancelled', 'in_progress', '??', 'ended\u0000'),
  scheduledStart: date, createdAt: date.map((d) => d ?? ''),
});

function check(tenant: string, rows: number) {
  return async () => {
    const { cp, rejects, loaded } = await outcome(tenant);
    expect(cp.status).toBe('done');
    expect(cp.read).toBe(rows);
    expect(cp.written + cp.rejected + cp.deferred).toBe(cp.read);
    expect(loaded.length).toBe(cp.written);
    // One reject row per rejected source row, CSV rows sharing a legacy id and reason included (keyed by file:line).
    expect(rejects.length).toBe(cp.rejected);
    for (const r of rejects) expect(r.reason).toMatch(/^[a-z_]+$/);
  };
}

describe('property: hostile legacy rows never fail S1 1.1; each row is loaded, rejected or deferred', () => {
  let n = 0;
  it('on MariaDB', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileRow, { minLength: 1, maxLength: 8 }), async (rows) => {
        const t = `prop-mysql-${(n += 1)}`;
        // MariaDB's own column types bound what legacy can hold: short varchar dates, 255-char room names.
        await insertMysql(rows.map((r) => base(t, { ...r, roomName: r.roomName?.slice(0, 255) ?? null, scheduledStart: r.scheduledStart?.slice(0, 32) ?? null, createdAt: r.createdAt.slice(0, 32) })));
        const run = await s1(t);
        expect(run.code, run.stderr).toBe(0);
        await check(t, rows.length)();
      }),
      { numRuns: 3, seed: 1515, endOnFailure: true },
    );
  }, 300_000);

  it('on a CSV export, with duplicate legacy ids', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vc-hostile-csv-'));
    const quote = (v: string | null) => (v === null ? '\\N' : `"${v.replace(/"/g, '""')}"`);
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(hostileRow, fc.constantFrom('1', '2', '3', 'x\u0000', 'y'.repeat(2000))), { minLength: 1, maxLength: 8 }), async (rows) => {
          const t = `prop-csv-${(n += 1)}`;
          const columns = LEGACY_TABLES.VirtualSession.columns;
          const lines = rows.map(([r, id]) => columns.map((c) => quote(c === 'id' ? id : (base(t, r)[c] ?? null))).join(','));
          await writeFile(join(dir, 'VirtualSession.csv'), `${columns.join(',')}\n${lines.join('\n')}\n`);
          for (const table of ['AuditLog', 'TenantVirtualCareConfig', 'BillingEvent'] as const) await writeFile(join(dir, `${table}.csv`), `${LEGACY_TABLES[table].columns.join(',')}\n`);
          const run = await s1(t, dir);
          expect(run.code, run.stderr).toBe(0);
          await check(t, rows.length)();
        }),
        // No shrinking past a few steps: each run is a migrator process.
        { numRuns: 3, seed: 1516, endOnFailure: true },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
