import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrator } from '../testing/run-cli';

/**
 * The CLI as an operator runs it, without a setting its phase needs: exit 2 naming the variable and its
 * form, and nothing written or opened. Without the check, S3 ran 3.1 (the portal export needs no
 * access-policy) and recorded 3.2 as a failed step.
 */
const EXPORT_DIR = fileURLToPath(new URL('../../../../fixtures/legacy/csv', import.meta.url));

let pg: TestDatabase;
let handle: DatabaseHandle;
let work: string;

beforeAll(async () => {
  [pg, work] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'vc-settings-'))]);
  handle = await createDatabase(pg.url, { max: 1 });
});
afterAll(async () => {
  await handle?.close();
  await pg?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('migrator phase s3 without VC_ACCESS_POLICY_URL', () => {
  it('exits 2 naming the variable and its form, and records no step', async () => {
    const run = await runMigrator(['phase', 's3', '--tenant', 'acme'], { VC_DATABASE_URL: pg.url, VC_LEGACY_EXPORT_DIR: EXPORT_DIR });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('VC_ACCESS_POLICY_URL (expected the access-policy base URL, an http(s):// URL) is not set');
    expect(run.stdout).toBe('');
    const written = await queryRows<{ n: number }>(
      handle.db,
      sql`select (select count(*) from vc_migration.step_checkpoints)::int + (select count(*) from vc_migration.runs)::int as n`,
    );
    expect(written).toEqual([{ n: 0 }]);
  });

  it('on PGlite, does not even create the database directory', async () => {
    const dir = join(work, 'pg');
    const run = await runMigrator(['phase', 's3', '--tenant', 'acme', '--dry-run'], { VC_DATABASE_URL: `pglite:${dir}`, VC_LEGACY_EXPORT_DIR: EXPORT_DIR });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('VC_ACCESS_POLICY_URL (expected');
    expect(existsSync(dir)).toBe(false);
  });
});
