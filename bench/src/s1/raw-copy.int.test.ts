import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { generateLegacyData, loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCopy } from './raw-copy';
import { VIRTUAL_SESSION_AND_AUDIT } from './tables';

const OPTIONS = { tenants: 2, sessions: 120, auditPerSession: 4, seed: 3, asOf: new Date('2026-11-01T00:00:00Z') };
const NAME_WITH_NEWLINE = 'Íñigo\nde la Fuente';

// The bench's plumbing on a tiny set: the full bench is too slow for `pnpm test`.
describe('rawCopy (the s1 bench ceiling)', () => {
  let mysqlDb: TestMysqlDatabase;
  let pgDb: TestDatabase;
  let generated: Record<string, number>;
  beforeAll(async () => {
    mysqlDb = await createTestMysqlDatabase('vc_bench');
    pgDb = await createTestDatabase({ migrated: false });
    const loaded = await loadIntoMysql(mysqlDb.url, { ...OPTIONS, databases: mysqlDb.databases });
    generated = loaded.rows;
  });
  afterAll(async () => {
    await mysqlDb.drop();
    await pgDb.drop();
  });

  it('moves every VirtualSession and AuditLog row, text intact', async () => {
    const moved = await rawCopy(mysqlDb.url, pgDb.url, mysqlDb.name, VIRTUAL_SESSION_AND_AUDIT);
    expect(moved).toEqual({ VirtualSession: generated.VirtualSession, AuditLog: generated.AuditLog });
    const client = new pg.Client({ connectionString: pgDb.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM "raw_AuditLog" WHERE "actorDisplay" = $1', [NAME_WITH_NEWLINE]);
      const audit = generateLegacyData({ ...OPTIONS, target: 'mysql' }).tables.find((t) => t.spec.name === 'AuditLog')!;
      const want = [...audit.rows()].filter((row) => row[6] === NAME_WITH_NEWLINE).length;
      expect([want > 0, Number(rows[0]!.n)]).toEqual([true, want]);
    } finally {
      await client.end();
    }
  });
});
