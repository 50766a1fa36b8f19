import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import { pgQuery } from './counts';
import { connected } from './held-writers';
import { runMigrator } from './run-cli';

export interface StepCounts {
  read: number;
  written: number;
  rejected: number;
  deferred: number;
}

/** A legacy session S1 loads under its uuid externalId. */
export interface LoadedByExternalId {
  tenant: string;
  legacyId: string;
  /** The session id: the externalId, lower-cased. */
  id: string;
}

/**
 * Test support: a generated MariaDB legacy database whose tenants are to share externalIds (legacy's unique key on it
 * dropped, as it was not everywhere), and each tenant's sessions S1 loads under their externalId, in legacy order:
 * a plain run on a scratch target says which (historical and valid is the domain's call).
 */
export interface SharedIdsLegacy {
  env: Record<string, string>;
  tenants: string[];
  loaded: (tenant: string) => LoadedByExternalId[];
  /** The tenant's 1.1 counts in the plain run (before any externalId was shared). */
  plainCounts: (tenant: string) => StepCounts;
  /** Gives legacy row `legacyId` this externalId. */
  share(legacyId: string, externalId: string): Promise<void>;
  /** Copies legacy row `legacyId` past the last key (the same externalId under a higher id); returns the copy's id. */
  twin(legacyId: string): Promise<string>;
  close(): Promise<void>;
}

export async function openSharedIdsLegacy(
  name: string,
  fixture: { tenants: number; seed: number; asOf: string },
  s1: readonly string[],
): Promise<SharedIdsLegacy> {
  const legacy: TestMysqlDatabase = await createTestMysqlDatabase(name);
  const { expected } = await loadIntoMysql(legacy.url, {
    ...fixture,
    sessions: 60,
    auditPerSession: 1,
    asOf: new Date(fixture.asOf),
    databases: legacy.databases,
  });
  const work = await mkdtemp(join(tmpdir(), `${name}-`));
  const env = { VC_LEGACY_DATABASE_URL: legacy.url, VC_LEGACY_MASTER_KEY: expected.legacyMasterKey, VC_KMS: `local:${join(work, 'kms.json')}` };
  const scratch: TestDatabase = await createTestDatabase();
  const c = await mysql.createConnection({ uri: legacy.url, database: legacy.databases.digitalCommunication });
  try {
    const plain = await runMigrator([...s1, '--all-tenants'], { ...env, VC_DATABASE_URL: scratch.url });
    if (plain.code !== 0) throw new Error(`the plain run failed (exit ${plain.code}):\n${plain.stderr}`);
    const client = await connected(scratch.url);
    let rows: LoadedByExternalId[];
    let counts: Array<StepCounts & { tenant: string }>;
    try {
      rows = await pgQuery(client)<LoadedByExternalId>(
        `select tenant_id as tenant, legacy_id as "legacyId", id::text as id from virtual_sessions order by tenant_id, legacy_id::bigint`,
      );
      counts = await pgQuery(client)<StepCounts & { tenant: string }>(
        `select tenant_id as tenant, read, written, rejected, deferred from vc_migration.step_checkpoints where phase = 's1' and step_id = '1.1'`,
      );
    } finally {
      await client.end();
    }
    const [withExternal] = await c.query<mysql.RowDataPacket[]>('select cast(id as char) as id from VirtualSession where externalId regexp ?', [
      '^[0-9a-f]{8}-',
    ]);
    const external = new Set(withExternal.map((r) => String(r.id)));
    const byExternalId = rows.filter((r) => external.has(r.legacyId));
    await c.query('alter table VirtualSession drop index uq_VirtualSession_externalId');
    return {
      env,
      tenants: [...new Set(rows.map((r) => r.tenant))],
      loaded: (tenant) => byExternalId.filter((r) => r.tenant === tenant),
      plainCounts: (tenant) => {
        const { read, written, rejected, deferred } = counts.find((c) => c.tenant === tenant)!;
        return { read, written, rejected, deferred };
      },
      async share(legacyId, externalId) {
        await c.query('update VirtualSession set externalId = ? where id = ?', [externalId, legacyId]);
      },
      async twin(legacyId) {
        const [[top]] = await c.query<mysql.RowDataPacket[]>('select max(id) + 10 as id from VirtualSession');
        await c.query('create temporary table twin as select * from VirtualSession where id = ?', [legacyId]);
        await c.query('update twin set id = ?', [top!.id]);
        await c.query('insert into VirtualSession select * from twin');
        await c.query('drop temporary table twin');
        return String(top!.id);
      },
      async close() {
        await c.end();
        await scratch.drop();
        await legacy.drop();
        await rm(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await c.end();
    await scratch.drop();
    await legacy.drop();
    throw error;
  }
}
