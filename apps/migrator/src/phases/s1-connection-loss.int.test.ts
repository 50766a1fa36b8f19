import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedS1, pgQuery, s1Counts, s1Snapshot } from '../testing/counts';
import { runMigrator, startMigrator, type CliResult } from '../testing/run-cli';
import { FIXTURE, loadLegacyDatabases, phiHits, type LegacyDatabases } from '../validate/testing/harness';
import { checkpointRow, tableDigests, type TableDigests } from './resume-support';

/**
 * docs/design.md §9: "a dropped PostgreSQL connection is retried or parked, never lost". While S1 runs from MariaDB
 * into PostgreSQL, the server terminates every backend of the migrator (`pg_terminate_backend`, as a
 * failover or an operator would): its pooled connections, the one holding the (tenant, phase) advisory
 * lock, and any batch transaction in flight. The run must either ride it out or stop resumable (exit 1),
 * and the run after it must end with exactly the rows of a clean run: nothing lost, nothing twice.
 */
const AS_OF = FIXTURE.asOf.toISOString();
const TENANT = 'acme';

let legacy: LegacyDatabases;
let work: string;
const databases: TestDatabase[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  [legacy, work] = await Promise.all([loadLegacyDatabases('pgdrop'), mkdtemp(join(tmpdir(), 'vc-pgdrop-'))]);
}, 300_000);

afterAll(async () => {
  for (const db of databases) await db.drop();
  await Promise.all([legacy?.drop(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

interface Target {
  env: Record<string, string>;
  client: pg.Client;
  name: string;
}

async function freshTarget(): Promise<Target> {
  const db = await createTestDatabase();
  databases.push(db);
  const env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  return { env, client, name: decodeURIComponent(new URL(db.url).pathname.slice(1)) };
}

const s1 = ['phase', 's1', '--tenant', TENANT, '--as-of', AS_OF, '--batch-size', '5', '--max-reject-rate', '0.5', '--json'];

/**
 * Terminates the backends of `database` but the caller's own: `all`, or `batch` — all but the one holding
 * the run's advisory lock (its last statement took the lock). Returns how many it ended.
 */
async function terminateBackends(client: pg.Client, database: string, which: Drop): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `select count(*) filter (where pg_terminate_backend(pid))::int as n from pg_stat_activity
      where datname = $1 and pid <> pg_backend_pid() and ($2 = 'all' or query not like '%pg_try_advisory_lock%')`,
    [database, which],
  );
  return rows[0]!.n;
}

type Drop = 'all' | 'batch';

/** Runs S1 and drops its connections once `step` has committed `atRead` rows; the run's result, and how many backends died. */
async function dropConnectionsDuring(target: Target, step: string, atRead: number, which: Drop): Promise<CliResult & { terminated: number }> {
  const run = startMigrator(s1, target.env);
  let finished = false;
  let terminated = 0;
  void run.done.then(() => (finished = true));
  while (!finished) {
    const cp = await checkpointRow(target.client, TENANT, 's1', step);
    if (cp?.status === 'running' && cp.read >= atRead) {
      // Stopped while its backends are ended, so a busy machine cannot let the run finish the step (and close its
      // connections) between the check above and the drop: the drop lands in the step, with connections to drop.
      run.child.kill('SIGSTOP');
      try {
        terminated = await terminateBackends(target.client, target.name, which);
      } finally {
        run.child.kill('SIGCONT');
      }
      // Caught between two batches with no batch connection open (only the run's lock): try again at the next poll.
      if (terminated > 0) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const result = await run.done;
  outputs.push(result.stdout, result.stderr);
  return { ...result, terminated };
}

/** What a clean run of the same command leaves: the reference both scenarios must end equal to. */
let cleanState: { snapshot: Record<string, unknown[]>; digests: TableDigests };

type DroppedRun = CliResult & { terminated: number; step: string };

/**
 * On a fresh target: drops the connections during 1.1 and again during 1.4 (`check` judges each dropped
 * run), then runs S1 once more, which must succeed and leave exactly what a clean run leaves.
 */
async function dropTwiceThenResume(which: Drop, check: (run: DroppedRun) => void): Promise<void> {
  const target = await freshTarget();
  try {
    // Early in each step (its second to fourth batch of five): near a step's end, a fast run can finish the step
    // and close its connections between the poll that saw it running and the stop, leaving nothing to drop.
    for (const [step, atRead] of [
      ['1.1', 20],
      ['1.4', 10],
    ] as const) {
      const run = { ...(await dropConnectionsDuring(target, step, atRead, which)), step };
      expect(run.terminated, `no backend of the run to terminate during ${step}`).toBeGreaterThan(0);
      check(run);
    }
    const last = await runMigrator(s1, target.env);
    outputs.push(last.stdout, last.stderr);
    expect(last.code, last.stderr).toBe(0);
    await expectCleanEndState(target);
  } finally {
    await target.client.end();
  }
}

async function expectCleanEndState(target: Target): Promise<void> {
  expect(await s1Snapshot(pgQuery(target.client))).toEqual(cleanState.snapshot);
  expect(await tableDigests(target.client)).toEqual(cleanState.digests);
  expect(await s1Counts(pgQuery(target.client), TENANT)).toEqual(expectedS1(legacy.expected.tenants[TENANT]!));
}

describe('s1 with its PostgreSQL connections dropped mid-run', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const clean = await freshTarget();
    try {
      const run = await runMigrator(s1, clean.env);
      expect(run.code, run.stderr).toBe(0);
      cleanState = { snapshot: await s1Snapshot(pgQuery(clean.client)), digests: await tableDigests(clean.client) };
    } finally {
      await clean.client.end();
    }
  }, 300_000);

  it('a dropped batch connection is ridden out or fails the step resumable (exit 1, the JSON summary says failed), and the next run ends with exactly the rows of a clean run', async () => {
    await dropTwiceThenResume('batch', (o) => {
      expect([0, 1], o.stderr).toContain(o.code);
      expect((JSON.parse(o.stdout) as { status: string }).status).toBe(o.code === 0 ? 'done' : 'failed');
    });
  });

  it("with every connection dropped, the lock's too, the run exits 1 and the next run ends with exactly the rows of a clean run", async () => {
    await dropTwiceThenResume('all', (o) => expect(o.code, o.stderr).toBe(1));
  });

  it('no output of the runs carries a patient ref, display name or secret', () => {
    expect(
      phiHits(
        outputs.map((text, i) => ({ path: `run#${i}`, text })),
        legacy.sensitive,
      ),
    ).toEqual([]);
  });
});
