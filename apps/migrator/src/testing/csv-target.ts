import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCsvExport, type ExpectedCounts } from '@vc/fixtures';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';

/** Test support: a generated legacy CSV export and a fresh PostgreSQL target, with the env a run needs. */
export interface CsvTarget {
  work: string;
  expected: ExpectedCounts;
  db: TestDatabase;
  client: pg.Client;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function openCsvTarget(prefix: string, fixture: Omit<Parameters<typeof writeCsvExport>[1], 'asOf'> & { asOf: string }): Promise<CsvTarget> {
  const work = await mkdtemp(join(tmpdir(), prefix));
  const { expected } = await writeCsvExport(join(work, 'csv'), { ...fixture, asOf: new Date(fixture.asOf) });
  const db = await createTestDatabase();
  const env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: join(work, 'csv'),
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  const client = new pg.Client({ connectionString: db.url });
  // Dropping the database at the end terminates this connection; that is expected, not a failure.
  client.on('error', () => undefined);
  await client.connect();
  return {
    work,
    expected,
    db,
    client,
    env,
    async close() {
      await client.end();
      await db.drop();
      await rm(work, { recursive: true, force: true });
    },
  };
}
