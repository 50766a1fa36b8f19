import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCsvExport, type ExpectedCounts } from '@vc/fixtures';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigratorJson, startMigrator, type RunningCli } from '../testing/run-cli';

/**
 * Review: an item that kills its worker (OOM, a crash in a driver) is a poison the queue never gives up on.
 * The consumer's max_deliver is unlimited (docs/scale-out.md) and `--max-attempts` counts only failures a
 * worker lived to catch (worker.ts `failed()`): a delivery whose worker died is never counted, so such an
 * item is redelivered after every AckWait, to every worker in turn, for ever. Here the deaths are SIGKILLs
 * mid-item, more of them than --max-attempts: the next delivery should record the item failed (naming
 * that its workers died) and terminate it, not run it once more.
 */
const AS_OF = '2026-11-01T00:00:00Z';
let work: string;
let expected: ExpectedCounts;
let db: TestDatabase;
let client: pg.Client;
let env: Record<string, string>;

beforeAll(async () => {
  const natsUrl = process.env.VC_TEST_NATS_URL ?? '';
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
  work = await mkdtemp(join(tmpdir(), 'vc-poison-items-'));
  ({ expected } = await writeCsvExport(join(work, 'csv'), { tenants: 1, sessions: 2_000, auditPerSession: 3, seed: 4242, asOf: new Date(AS_OF) }));
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  const tag = randomBytes(4).toString('hex');
  env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: join(work, 'csv'),
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_NATS_URL: natsUrl,
    VC_NATS_WORK_STREAM: `WORK_${tag}`,
    VC_NATS_SUBJECT_PREFIX: `t${tag}.`,
  };
}, 240_000);

afterAll(async () => {
  await client?.end().catch(() => undefined);
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, alive: () => boolean): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (!alive()) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const item = async () =>
  (
    await client.query<{ status: string; worker_pid: number | null; attempts: number; error: string | null }>(
      'select status, worker_pid, attempts, error from vc_migration.plan_items',
    )
  ).rows[0];

const worker = () => startMigrator(['worker', '--max-attempts', '2', '--retry-delay', '1', '--poll', '1', '--json'], { ...env, VC_LOG_LEVEL: 'info' });

describe('review: an item whose worker dies every time', () => {
  it('is recorded failed and terminated once more workers died on it than --max-attempts, not redelivered for ever', async () => {
    const enqueued = await runMigratorJson<{ planId: string }>(
      ['enqueue', 'phase', 's1', '--all-tenants', '--as-of', AS_OF, '--batch-size', '5', '--max-reject-rate', '0.5', '--ack-wait', '1'],
      env,
    );
    expect(enqueued.code, JSON.stringify(enqueued.json)).toBe(0);
    // Killed mid-item up to 3 times (more than --max-attempts 2); a fixed worker may record it failed sooner.
    for (let death = 1; death <= 3; death++) {
      const run: RunningCli = worker();
      let exited = false;
      void run.done.then(() => (exited = true));
      const seen = await until(
        `delivery ${death} running on worker ${run.child.pid}, or the item failed`,
        async () => {
          const i = await item();
          if (i?.status === 'failed') return 'failed';
          return i?.status === 'running' && i.worker_pid === run.child.pid ? 'running' : undefined;
        },
        () => !exited,
      );
      if (seen === 'failed') {
        run.child.kill('SIGTERM');
        await run.done;
        break;
      }
      run.child.kill('SIGKILL');
      expect((await run.done).signal).toBe('SIGKILL');
    }
    const last = worker();
    let exited = false;
    void last.done.then(() => (exited = true));
    const settled = await until(
      'the item to settle',
      async () => {
        const i = await item();
        return i && (i.status === 'done' || i.status === 'failed') ? i : undefined;
      },
      () => !exited,
    );
    last.child.kill('SIGTERM');
    await last.done;
    expect({ status: settled.status, attemptsCounted: settled.attempts >= 2 }, settled.error ?? '').toEqual({ status: 'failed', attemptsCounted: true });
  }, 240_000);
});

describe('review: the ledger rows of `enqueue --tenant X --force --reason`', () => {
  it("name tenant X: `ledger show --tenant X` (and X's evidence pack) carry the gate override", async () => {
    // s3 needs s1 done for the tenant; forced past that gate, which the run ledger is to keep with the tenant's history.
    const tenant = Object.keys(expected.tenants)[0]!;
    const forced = await runMigratorJson<{ planId: string }>(
      ['enqueue', 'phase', 's3', '--tenant', tenant, '--as-of', AS_OF, '--force', '--reason', 'CHG-77 s1 verified by hand', '--ack-wait', '1'],
      // Checked as set by enqueue (the workers need it); never called here.
      { ...env, VC_ACCESS_POLICY_URL: 'http://127.0.0.1:9' },
    );
    expect(forced.code, JSON.stringify(forced.json)).toBe(0);
    const all = await runMigratorJson<{ rows: Array<{ tenants: string[]; entry: { command: string; overrides?: unknown[] } }> }>(['ledger', 'show'], env);
    const overriding = all.json.rows.filter((r) => r.entry.command === 'enqueue phase s3' && r.entry.overrides);
    expect(overriding, JSON.stringify(all.json.rows.map((r) => [r.entry.command, r.tenants]))).toHaveLength(1);
    expect(overriding[0]!.tenants).toEqual([tenant]);
    const own = await runMigratorJson<{ rows: Array<{ entry: { command: string } }> }>(['ledger', 'show', '--tenant', tenant], env);
    expect(own.json.rows.map((r) => r.entry.command)).toContain('enqueue phase s3');
  }, 120_000);
});
