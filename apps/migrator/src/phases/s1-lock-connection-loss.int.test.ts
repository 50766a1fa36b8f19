import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMigrator } from '../testing/run-cli';
import { FIXTURE, loadLegacyDatabases, type LegacyDatabases } from '../validate/testing/harness';
import { checkpointRow } from './resume-support';

/**
 * The connection holding a run's (tenant, phase) advisory lock is terminated by the server (failover,
 * `pg_terminate_backend`). The lock is gone with it, so the run must not go on as if it held it, and it
 * must end as the CLI contract says (docs/design.md §6, §8): exit 1, resumable, one JSON summary on stdout — not
 * an uncaught 'error' event of the pg client that kills the process without a summary.
 */
const TENANT = 'acme';
let legacy: LegacyDatabases;
let db: TestDatabase;
let client: pg.Client;
let work: string;

beforeAll(async () => {
  [legacy, db, work] = await Promise.all([loadLegacyDatabases('lockdrop'), createTestDatabase(), mkdtemp(join(tmpdir(), 'vc-lockdrop-'))]);
  client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
}, 300_000);

afterAll(async () => {
  await client?.end();
  await Promise.all([db?.drop(), legacy?.drop(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('s1 losing the connection that holds its advisory lock', { timeout: 300_000 }, () => {
  it('stops resumable with exit 1 and its JSON summary instead of crashing on the pg client error', async () => {
    const env = {
      VC_DATABASE_URL: db.url,
      VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
      VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
      VC_KMS: `local:${join(work, 'kms.json')}`,
    };
    const run = startMigrator(
      ['phase', 's1', '--tenant', TENANT, '--as-of', FIXTURE.asOf.toISOString(), '--batch-size', '5', '--max-reject-rate', '0.5', '--json'],
      env,
    );
    let finished = false;
    let terminated = 0;
    void run.done.then(() => (finished = true));
    while (!finished && terminated === 0) {
      const cp = await checkpointRow(client, TENANT, 's1', '1.1');
      if (cp?.status === 'running' && cp.read >= 20) {
        const { rows } = await client.query<{ n: number }>(
          `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = $1 and pid <> pg_backend_pid() and query like '%pg_try_advisory_lock%'`,
          [decodeURIComponent(new URL(db.url).pathname.slice(1))],
        );
        terminated = rows[0]!.n;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const result = await run.done;
    expect(terminated).toBe(1);
    expect(result.stderr).not.toContain("Unhandled 'error' event");
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as { status: string; errors?: Array<{ message: string }> };
    expect(summary.status).toBe('failed');
    expect(summary.errors?.[0]?.message).toMatch(/^lost the PostgreSQL connection holding the lock of tenant acme phase s1 \(.+\); run again to resume$/);
  });
});
