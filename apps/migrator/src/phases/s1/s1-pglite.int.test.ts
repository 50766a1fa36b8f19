import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedCounts } from '@vc/fixtures';
import { createDatabase } from '@vc/schema';
import { createTestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedS1, pgQuery, s1Counts, s1Snapshot } from '../../testing/counts';
import { runMigrator, startMigrator } from '../../testing/run-cli';

/** S0 + S1 on the embedded default: PGlite in a directory, the checked-in CSV export. */
const EXPORT_DIR = fileURLToPath(new URL('../../../../../fixtures/legacy/csv', import.meta.url));
const expected = JSON.parse(readFileSync(join(EXPORT_DIR, 'expected.json'), 'utf8')) as ExpectedCounts;

let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vc-s1-pglite-'));
  env = {
    VC_DATABASE_URL: `pglite:${join(work, 'pg')}`,
    VC_LEGACY_EXPORT_DIR: EXPORT_DIR,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('s0 and s1 on PGlite (the embedded default)', () => {
  it('s0 twice, then s1 for every tenant: counts equal the expected ones', async () => {
    expect((await runMigrator(['phase', 's0'], env)).code).toBe(0);
    const again = await runMigrator(['phase', 's0', '--json'], env);
    expect(JSON.parse(again.stdout).steps.map((s: { id: string; status: string; written: number }) => [s.id, s.status, s.written])).toEqual([
      ['0.1', 'done', 0],
      ['0.2', 'done', 0],
      ['0.3', 'done', 0],
    ]);
    const s1 = await runMigrator(['phase', 's1', '--all-tenants', '--as-of', expected.asOf, '--max-reject-rate', '0.2', '--batch-size', '64'], env);
    expect(s1.code, s1.stderr).toBe(0);
    const handle = await createDatabase(env.VC_DATABASE_URL!);
    try {
      const query = async <T>(text: string, params?: unknown[]) => (await handle.pglite!.query<T>(text, params)).rows;
      for (const tenant of Object.keys(expected.tenants)) {
        expect({ tenant, ...(await s1Counts(query, tenant)) }).toEqual({ tenant, ...expectedS1(expected.tenants[tenant]!) });
      }
      // The same run on PostgreSQL (COPY and array upserts instead of multi-row inserts) gives the same rows.
      const postgres = await createTestDatabase();
      const client = new pg.Client({ connectionString: postgres.url });
      try {
        const onPostgres = await runMigrator(['phase', 's1', '--all-tenants', '--as-of', expected.asOf, '--max-reject-rate', '0.2', '--batch-size', '64'], {
          ...env,
          VC_DATABASE_URL: postgres.url,
        });
        expect(onPostgres.code, onPostgres.stderr).toBe(0);
        await client.connect();
        const { checkpoints: pgliteCheckpoints, ...pgliteRows } = await s1Snapshot(query);
        const { checkpoints: postgresCheckpoints, ...postgresRows } = await s1Snapshot(pgQuery(client));
        expect(postgresRows).toEqual(pgliteRows);
        expect(postgresCheckpoints).toEqual((pgliteCheckpoints ?? []).filter((c) => (c as { phase: string }).phase === 's1'));
      } finally {
        await client.end();
        await postgres.drop();
      }
    } finally {
      await handle.close();
    }
  }, 400_000);

  it('a second migrator on the same PGlite directory is refused while the first runs', async () => {
    const first = startMigrator(
      ['phase', 's1', '--tenant', 'acme', '--restart-step', '1.1', '--as-of', expected.asOf, '--max-reject-rate', '0.2', '--batch-size', '5'],
      env,
    );
    while (!first.stderr().includes('1.1')) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGSTOP');
    const second = await runMigrator(['status'], env);
    first.child.kill('SIGCONT');
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another migrator run holds the PGlite database .* \(pid \d+/);
    expect((await first.done).code).toBe(0);
  }, 300_000);
});
