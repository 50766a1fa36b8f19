import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIntoMysql, writeCsvExport, type ExpectedCounts } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { connectWorkQueue } from '@vc/integrations/nats';
import mysql from 'mysql2/promise';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgQuery, s1Snapshot, type Query } from '../testing/counts';
import { runMigrator, runMigratorJson, startMigrator, type RunningCli } from '../testing/run-cli';

/**
 * Scale-out on real nats-server -js and PostgreSQL: 3 worker processes share a plan of 8 tenants; one is
 * SIGKILLed mid-item, another paused (SIGSTOP) past AckWait and resumed. Every item completes exactly once
 * and the target equals a single-process `--all-tenants` run, table for table.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const RUN = ['--as-of', AS_OF, '--batch-size', '20', '--max-reject-rate', '0.2'];

let work: string;
let expected: ExpectedCounts;
let legacy: TestMysqlDatabase;
let legacyExpected: ExpectedCounts;
/** The two tenants of the legacy database with four times the rows of the others: the ones a split plan cuts. */
const BIG = ['acme', 'globex'];
let natsUrl: string;
const databases: TestDatabase[] = [];
const clients: pg.Client[] = [];

beforeAll(async () => {
  natsUrl = process.env.VC_TEST_NATS_URL ?? '';
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
  work = await mkdtemp(join(tmpdir(), 'vc-scale-'));
  ({ expected } = await writeCsvExport(join(work, 'csv'), { tenants: 8, sessions: 1_600, auditPerSession: 3, seed: 1111, asOf: new Date(AS_OF) }));
  legacy = await createTestMysqlDatabase('vc_scale');
  ({ expected: legacyExpected } = await loadIntoMysql(legacy.url, {
    tenants: 8,
    sessions: 640,
    auditPerSession: 3,
    seed: 2222,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  }));
  // Three more copies of the big tenants' sessions and audit rows, at higher keys (externalIds dropped: they are unique).
  const c = await mysql.createConnection({ uri: legacy.url, database: legacy.databases.digitalCommunication });
  try {
    for (const copy of [1, 2, 3]) {
      await c.query('create temporary table s as select * from VirtualSession where tenantId in (?) and id < 1000000', [BIG]);
      await c.query('update s set id = id + ?, externalId = null', [copy * 1_000_000]);
      await c.query('insert into VirtualSession select * from s');
      await c.query('drop temporary table s');
      await c.query('create temporary table a as select * from AuditLog where tenantId in (?) and id < 10000000', [BIG]);
      await c.query(`update a set id = id + ?, entityId = if(entityId regexp '^[0-9]+$', cast(cast(entityId as unsigned) + ? as char), entityId)`, [
        copy * 10_000_000,
        copy * 1_000_000,
      ]);
      await c.query('insert into AuditLog select * from a');
      await c.query('drop temporary table a');
    }
  } finally {
    await c.end();
  }
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  for (const db of databases) await db.drop();
  await legacy?.drop();
  await rm(work, { recursive: true, force: true });
});

/**
 * A fresh target database and, per call, its own work stream and subject prefix on the shared nats-server;
 * legacy is the CSV export, or with `fromMysql` the MariaDB database with two big tenants.
 */
async function target(fromMysql = false): Promise<{ env: Record<string, string>; client: pg.Client; stream: string; prefix: string }> {
  const db = await createTestDatabase();
  databases.push(db);
  const tag = randomBytes(4).toString('hex');
  const stream = `WORK_${tag}`;
  const prefix = `t${tag}.`;
  const env = {
    VC_DATABASE_URL: db.url,
    ...(fromMysql
      ? { VC_LEGACY_DATABASE_URL: legacy.url, VC_LEGACY_MASTER_KEY: legacyExpected.legacyMasterKey }
      : { VC_LEGACY_EXPORT_DIR: join(work, 'csv'), VC_LEGACY_MASTER_KEY: expected.legacyMasterKey }),
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_NATS_URL: natsUrl,
    VC_NATS_WORK_STREAM: stream,
    VC_NATS_SUBJECT_PREFIX: prefix,
  };
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return { env, client, stream, prefix };
}

/**
 * What a single-process `phase s1 --all-tenants` leaves in a fresh target, per legacy: the target every distributed
 * run must equal. Run once per legacy and only read, so the tests comparing against the same legacy share it.
 */
const references = new Map<boolean, Promise<Awaited<ReturnType<typeof s1Snapshot>>>>();
function referenceSnapshot(fromMysql = false): Promise<Awaited<ReturnType<typeof s1Snapshot>>> {
  const known = references.get(fromMysql);
  if (known) return known;
  const made = (async () => {
    const reference = await target(fromMysql);
    const once = await runMigrator(['phase', 's1', '--all-tenants', ...RUN], reference.env);
    expect(once.code, once.stderr).toBe(0);
    return s1Snapshot(pgQuery(reference.client));
  })();
  references.set(fromMysql, made);
  return made;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, alive: () => boolean = () => true): Promise<T> {
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (!alive()) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * SIGSTOPs the worker `probe` finds mid-item, checked again once stopped: between the probe's read and the
 * signal the item may have finished (the worker then holds no lock, and nothing of its would be redelivered),
 * so such a worker is resumed and the next one found is paused instead.
 */
async function pauseMidItem(q: Query, workers: RunningCli[], probe: () => Promise<{ worker_pid: number } | undefined>): Promise<RunningCli> {
  for (;;) {
    const by = Date.now() + 240_000;
    const found = await until('an item mid-way on another worker', probe, () => Date.now() < by);
    const run = workers.find((w) => w.child.pid === found.worker_pid)!;
    run.child.kill('SIGSTOP');
    // A statement sent just before the signal still completes on the server: let it land, then look again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (await holdsItem(q, found.worker_pid)) return run;
    run.child.kill('SIGCONT');
  }
}

/** Whether the worker's run of its running item, of a tenant of one item, is still open with a step part-way. */
async function holdsItem(q: Query, pid: number): Promise<boolean> {
  const rows = await q<{ n: number }>(
    `select count(*)::int as n from vc_migration.plan_items i
       join vc_migration.runs r on r.tenant_id = i.tenant_id and r.phase = 's1' and r.status = 'running' and r.pid = i.worker_pid
       join vc_migration.step_checkpoints c on c.run_id = r.id and c.status = 'running'
     where i.status = 'running' and i.worker_pid = $1
       and (select count(*) from vc_migration.plan_items s where s.plan_id = i.plan_id and s.tenant_id = i.tenant_id) = 1`,
    [pid],
  );
  return rows[0]!.n > 0;
}

/** What a stuck plan's open items are and what their backends wait for: the message a bounded wait fails with. */
async function stuckOn(q: Query, planId: string) {
  const items = await q(`select item_key, status, worker_pid, attempts, error from vc_migration.plan_items where plan_id = $1 and status <> 'done'`, [planId]);
  const waiting = await q(
    `select pid, pg_blocking_pids(pid) as blocked_by, wait_event_type, wait_event, state, left(query, 80) as query
       from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`,
  );
  return { items, waiting };
}

const lastLines = (run: RunningCli) => run.stderr().trim().split('\n').slice(-3);

const worker = (env: Record<string, string>) => startMigrator(['worker', '--retry-delay', '1', '--poll', '1', '--json'], { ...env, VC_LOG_LEVEL: 'info' });

async function stopped(run: RunningCli, signal: NodeJS.Signals = 'SIGTERM') {
  run.child.kill(signal);
  const result = await run.done;
  return { ...result, summary: JSON.parse(result.stdout) as { done: number; failed: number } };
}

describe('migrator enqueue + worker on JetStream', () => {
  it.each(['SIGTERM', 'SIGHUP'] as const)('a worker with no work idles, drains on %s and exits 0 with its ledger end row', async (signal) => {
    const { env } = await target();
    const idle = worker(env);
    await until('the worker to be ready', async () => (idle.stderr().includes('worker ready') ? true : undefined));
    const result = await stopped(idle, signal);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`${signal}: draining`);
    expect(result.summary).toMatchObject({ done: 0, failed: 0 });
    expect((await runMigratorJson<{ unfinished: number[] }>(['ledger', 'show'], env)).json.unfinished).toEqual([]);
  });

  it('SIGTERM mid-item drains the worker: the batch commits, the item goes back at once and another worker finishes it, once', async () => {
    const reference = await referenceSnapshot();
    const dist = await target();
    const enqueued = await runMigratorJson<{ planId: string }>(['enqueue', 'phase', 's1', '--all-tenants', ...RUN, '--ack-wait', '600'], dist.env);
    expect(enqueued.code).toBe(0);
    const planId = enqueued.json.planId;
    const q = pgQuery(dist.client);

    const first = worker(dist.env);
    const drained = await until('an item mid-way on the first worker', async () => {
      const rows = await q<{ tenant_id: string }>(
        `select i.tenant_id from vc_migration.plan_items i join vc_migration.step_checkpoints c on c.tenant_id = i.tenant_id and c.phase = 's1'
         where i.plan_id = $1 and i.status = 'running' and c.status = 'running' and c.read > 0 limit 1`,
        [planId],
      );
      return rows[0]?.tenant_id;
    });
    const stop = await stopped(first);
    expect(stop.code).toBe(0);
    // The drained item is not done: its run stopped between batches, its checkpoint kept.
    const left = await q<{ status: string }>(`select status from vc_migration.plan_items where plan_id = $1 and tenant_id = $2`, [planId, drained]);
    expect(left[0]!.status).not.toBe('done');

    // Redelivered at once (nak without delay): with a 600 s AckWait, an item not handed back would outlast this test.
    const second = worker(dist.env);
    await until('every item done', async () =>
      (await q<{ n: number }>(`select count(*)::int as n from vc_migration.plan_items where plan_id = $1 and status <> 'done'`, [planId]))[0]!.n === 0
        ? true
        : undefined,
    );
    expect((await stopped(second)).code).toBe(0);
    const items = await q<{ completions: number }>(`select completions from vc_migration.plan_items where plan_id = $1`, [planId]);
    expect(items.map((i) => i.completions)).toEqual(Array(8).fill(1));
    const resumed = await q<{ n: number }>(
      `select count(*)::int as n from vc_migration.runs where tenant_id = $1 and phase = 's1' and status = 'interrupted'`,
      [drained],
    );
    expect(resumed[0]!.n).toBe(1);
    expect(await s1Snapshot(q)).toEqual(reference);
  }, 240_000);

  it('an item whose step fails is retried after a delay, then recorded failed with why and terminated past --max-attempts', async () => {
    const dist = await target();
    // No reject tolerated: every tenant of the export has some, so every item's S1 fails at step 1.1 (state kept).
    const strict = ['--as-of', AS_OF, '--batch-size', '200', '--max-reject-rate', '0'];
    const enqueued = await runMigratorJson<{ planId: string }>(['enqueue', 'phase', 's1', '--all-tenants', ...strict], dist.env);
    expect(enqueued.code).toBe(0);
    const planId = enqueued.json.planId;
    const q = pgQuery(dist.client);
    const run = startMigrator(['worker', '--retry-delay', '1', '--poll', '1', '--max-attempts', '2', '--json'], { ...dist.env, VC_LOG_LEVEL: 'info' });
    const settled = async () =>
      (await q<{ n: number }>(`select count(*)::int as n from vc_migration.plan_items where plan_id = $1 and status <> 'failed'`, [planId]))[0]!.n === 0
        ? true
        : undefined;
    await until('every item failed', settled);
    const stop = await stopped(run);
    // Exit 1: the worker terminated items as failed for good during its life.
    expect([stop.code, stop.summary.done, stop.summary.failed]).toEqual([1, 0, 8]);
    const items = await q<{ attempts: number; error: string }>(`select attempts, error from vc_migration.plan_items where plan_id = $1`, [planId]);
    expect(items).toHaveLength(8);
    for (const item of items) {
      expect(item.attempts).toBe(2);
      expect(item.error).toMatch(/^1\.1: step 1\.1 of tenant \S+ rejected \d+ of \d+ rows .*above --max-reject-rate 0/);
    }
    // Terminated, not left for redelivery: the work queue holds nothing of the plan.
    const queue = await connectWorkQueue({ url: natsUrl, subjectPrefix: dist.prefix, stream: dist.stream });
    try {
      expect(await queue.messages()).toBe(0);
    } finally {
      await queue.close();
    }
    const status = await runMigratorJson<{ items: Array<{ status: string; error?: string }> }>(['plan', 'status', planId], dist.env);
    expect(status.json.items.map((i) => i.status)).toEqual(Array(8).fill('failed'));
  }, 240_000);

  it('--split-larger-than is refused, exit 2 and nothing stored, where key ranges cannot be read: a CSV export, a phase other than s1', async () => {
    const dist = await target();
    const csv = await runMigrator(['enqueue', 'phase', 's1', '--all-tenants', ...RUN, '--split-larger-than', '10'], dist.env);
    expect(csv.code).toBe(2);
    expect(csv.stderr).toMatch(/--split-larger-than needs the legacy database \(VC_LEGACY_DATABASE_URL\)/);
    const s3 = await runMigrator(['enqueue', 'phase', 's3', '--all-tenants', '--split-larger-than', '10'], dist.env);
    expect(s3.code).toBe(2);
    expect(s3.stderr).toMatch(/only s1 is split into key ranges/);
    const zero = await runMigrator(['enqueue', 'phase', 's1', '--all-tenants', '--split-larger-than', '0'], dist.env);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--split-larger-than/);
    const stored = await pgQuery(dist.client)<{ n: number }>(`select count(*)::int as n from vc_migration.plans`);
    expect(stored[0]!.n).toBe(0);
  });

  /** What splits the MariaDB legacy's big tenants and no other: more rows than any small tenant has in either table. */
  async function splitThreshold(): Promise<number> {
    const c = await mysql.createConnection({ uri: legacy.url, database: legacy.databases.digitalCommunication });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        `select max(n) as n from (select tenantId, count(*) as n from VirtualSession group by 1 union all select tenantId, count(*) from AuditLog group by 1) t where tenantId not in (?)`,
        [BIG],
      );
      return Number(rows[0]!.n);
    } finally {
      await c.end();
    }
  }

  it.each([
    { legacy: 'a CSV export, one item per tenant', fromMysql: false },
    { legacy: 'MariaDB, two of the tenants split into key ranges', fromMysql: true },
  ])(
    '3 workers, one SIGKILLed mid-item and one paused: every item done exactly once, target equal to one --all-tenants run ($legacy)',
    async ({ fromMysql }) => {
      const reference = await referenceSnapshot(fromMysql);
      const dist = await target(fromMysql);
      const split = fromMysql ? ['--split-larger-than', String(await splitThreshold())] : [];
      const enqueue = ['enqueue', 'phase', 's1', '--all-tenants', ...RUN, ...split, '--ack-wait', '2'];
      const first = await runMigratorJson<{ planId: string; items: number; published: number; splitTenants?: string[] }>(enqueue, dist.env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.json.published).toBe(first.json.items);
      if (fromMysql) {
        expect(first.json.splitTenants).toEqual(BIG);
        // Each big tenant: its 1.1 ranges (four times a small tenant's sessions), its 1.4 ranges, and its whole-phase item.
        expect(first.json.items).toBeGreaterThanOrEqual(8 + 2 * 4);
      } else expect(first.json.items).toBe(8);
      const queue = await connectWorkQueue({ url: natsUrl, subjectPrefix: dist.prefix, stream: dist.stream });
      try {
        expect(await queue.messages()).toBe(first.json.items);
        const again = await runMigratorJson<{ planId: string; published: number; items: number; splitTenants?: string[] }>(enqueue, dist.env);
        expect(again.json).toMatchObject({ planId: first.json.planId, published: 0, items: first.json.items });
        expect(again.json.splitTenants).toEqual(first.json.splitTenants);
        expect(await queue.messages()).toBe(first.json.items);
      } finally {
        await queue.close();
      }

      const planId = first.json.planId;
      const q = pgQuery(dist.client);
      const workers = [worker(dist.env), worker(dist.env), worker(dist.env)];
      const byPid = (pid: number) => workers.find((w) => w.child.pid === pid)!;
      // A worker mid-item: its run (started once it holds the item's lock) has a step part-way. Matching the
      // tenant's checkpoints alone would also match a worker that has marked the item running but not taken its
      // lock yet (a checkpoint left running by the killed worker, or another range of the tenant): paused there,
      // it would not refuse the redelivered item, and the test would wait for a refusal that never comes.
      //
      // The paused worker is only ever one on a tenant of one item. Key ranges of a split tenant share a
      // transaction lock (1.1 settles externalIds under one per tenant): the last running worker, on a sibling
      // range, would wait on the paused one's open transaction and never pull the redelivered item, so the
      // refusal this test waits for would never come.
      const midItem =
        (exceptPid?: number, pausable = false) =>
        async () => {
          const rows = await q<{ worker_pid: number; tenant_id: string }>(
            `select i.worker_pid, i.tenant_id from vc_migration.plan_items i
             join vc_migration.runs r on r.tenant_id = i.tenant_id and r.phase = 's1' and r.status = 'running' and r.pid = i.worker_pid
             join vc_migration.step_checkpoints c on c.run_id = r.id and c.status = 'running' and c.read > 0
           where i.plan_id = $1 and i.status = 'running' and i.worker_pid <> $2
             and (not $3 or (select count(*) from vc_migration.plan_items s where s.plan_id = i.plan_id and s.tenant_id = i.tenant_id) = 1)
           limit 1`,
            [planId, exceptPid ?? 0, pausable],
          );
          return rows[0];
        };
      const open = async () =>
        (await q<{ n: number }>(`select count(*)::int as n from vc_migration.plan_items where plan_id = $1 and status <> 'done'`, [planId]))[0]!.n;
      const stillOpen = () => true;

      const killed = await until('an item mid-way', midItem(), stillOpen);
      byPid(killed.worker_pid).child.kill('SIGKILL');
      const pausedWorker = await pauseMidItem(q, workers, midItem(killed.worker_pid, true));
      // Past AckWait the paused worker's item is redelivered; its advisory lock still holds, so the taker hands it back.
      const others = workers.filter((w) => w !== pausedWorker && w.child.pid !== killed.worker_pid);
      const refusedBy = Date.now() + 240_000;
      await until(
        'the paused item to be redelivered and refused',
        async () => (others.some((w) => w.stderr().includes('another worker holds the lock')) ? true : undefined),
        () => Date.now() < refusedBy,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await stuckOn(q, planId))}; workers' last lines ${JSON.stringify(others.map(lastLines))}`);
      });
      pausedWorker.child.kill('SIGCONT');
      // Bounded, so that a stuck plan fails with its open items rather than at the test's timeout. The bounds are
      // wide: with the whole suite on 2 cores this test ran 4× slower than alone (25 s alone, ~100 s in the suite).
      const deadline = Date.now() + 360_000;
      await until(
        'every item done',
        async () => ((await open()) === 0 ? true : undefined),
        () => Date.now() < deadline,
      ).catch(async (error: Error) => {
        throw new Error(
          `${error.message}: ${JSON.stringify(await stuckOn(q, planId))}; workers ${workers.map((w) => `${w.child.pid} exit ${w.child.exitCode ?? w.child.signalCode}`).join(', ')}`,
        );
      });

      const results = await Promise.all(workers.filter((w) => w.child.pid !== killed.worker_pid).map((w) => stopped(w)));
      for (const r of results) expect(r.code).toBe(0);
      expect((await workers.find((w) => w.child.pid === killed.worker_pid)!.done).signal).toBe('SIGKILL');

      const items = await q<{ tenant_id: string; completions: number; status: string }>(
        `select tenant_id, completions, status from vc_migration.plan_items where plan_id = $1 order by 1`,
        [planId],
      );
      expect(items).toHaveLength(first.json.items);
      expect(items.every((i) => i.status === 'done' && i.completions === 1)).toBe(true);
      // The killed worker's delivery is counted as a failed attempt (by the worker that took the item over); the
      // paused one's is not: that worker was alive, holding the item's lock, and finished it.
      const counted = await q<{ tenant_id: string; attempts: number }>(
        `select tenant_id, attempts from vc_migration.plan_items where plan_id = $1 and attempts > 0 order by 1`,
        [planId],
      );
      expect(counted).toEqual([{ tenant_id: killed.tenant_id, attempts: 1 }]);
      // One finished run per item (a split tenant's key ranges are runs of their own), none twice.
      const perTenant = new Map<string, number>();
      for (const i of items) perTenant.set(i.tenant_id, (perTenant.get(i.tenant_id) ?? 0) + 1);
      const doneRuns = await q<{ tenant_id: string; n: number }>(
        `select tenant_id, count(*)::int as n from vc_migration.runs where phase = 's1' and status = 'done' group by 1 order by 1`,
      );
      expect(doneRuns).toEqual([...perTenant].map(([tenant_id, n]) => ({ tenant_id, n })));
      expect(await s1Snapshot(q)).toEqual(reference);

      const status = await runMigratorJson<{ status: string; items: Array<{ status: string }> }>(['plan', 'status', planId], dist.env);
      expect(status.code).toBe(0);
      expect(status.json.items.map((i) => i.status)).toEqual(Array(first.json.items).fill('done'));
    },
    480_000,
  );
});
