import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startKongAdminStandIn, type KongAdminStandIn } from '@vc/integrations/kong';
import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { LEGACY_ROUTING } from './legacy-rows';

/**
 * What the end-to-end tests of S1, S4 and validate over a real legacy MariaDB stand on: one generated tenant's
 * legacy data, a fresh target PostgreSQL, the FHIR and Kong stand-ins (Kong routing to legacy), and a work
 * directory (the local KMS keyring, CSV exports). Each test file seeds and alters legacy its own way on top.
 */
export interface LegacyHarness {
  legacy: TestMysqlDatabase;
  /** A connection to legacy, for the tests' inserts and edits. */
  mariadb: mysql.Connection;
  target: TestDatabase;
  client: pg.Client;
  handle: DatabaseHandle;
  fhir: FhirStandIn;
  kong: KongAdminStandIn;
  work: string;
  /** The generated data's legacy master key (legacy credentials decrypt with it). */
  masterKey: string;
  /** The CLI's environment: target, master key, local KMS, stand-ins; no legacy source (each run names its own). */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** `name` names the legacy database and the work directory; `data` is the generator's one tenant. */
export async function startLegacyHarness(name: string, data: { sessions: number; seed: number; asOf: string }): Promise<LegacyHarness> {
  const [legacy, target, fhir, work] = await Promise.all([
    createTestMysqlDatabase(`vc_${name}`),
    createTestDatabase(),
    startFhirStandIn(),
    mkdtemp(join(tmpdir(), `vc-${name}-`)),
  ]);
  const { expected } = await loadIntoMysql(legacy.url, {
    tenants: 1,
    sessions: data.sessions,
    auditPerSession: 1,
    seed: data.seed,
    asOf: new Date(data.asOf),
    databases: legacy.databases,
  });
  const mariadb = await mysql.createConnection(legacy.url);
  const kong = await startKongAdminStandIn({ initial: LEGACY_ROUTING });
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  const handle = await createDatabase(target.url);
  const masterKey = expected.legacyMasterKey;
  const env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: target.url,
    VC_LEGACY_MASTER_KEY: masterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KONG_ADMIN_URL: kong.url,
  };
  return {
    legacy,
    mariadb,
    target,
    client,
    handle,
    fhir,
    kong,
    work,
    masterKey,
    env,
    async close() {
      await handle.close?.();
      await client.end();
      await mariadb.end();
      await Promise.all([target.drop(), legacy.drop(), fhir.close(), kong.close(), rm(work, { recursive: true, force: true })]);
    },
  };
}
