import { randomBytes } from 'node:crypto';
import { connectWorkQueue } from '@vc/integrations/nats';
import { startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKongProxy, type KongProxy } from '../phases/s4/testing/kong-proxy';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator, runMigratorJson, startMigrator, type RunningCli } from '../testing/run-cli';

/**
 * SIGINT/SIGTERM to the commands that write outside a phase's steps — `tenant forget`, `enqueue` and
 * `phase s4 decommission` — while each is mid-work: the first signal stops it at its safe point (never between
 * writes that go together), it says so and exits 1 like every other command, the state is consistent, and
 * the same command run again finishes the job. Each run is held at a known point by real PostgreSQL (a row or
 * advisory lock the test holds) or by the Kong stand-in's proxy, signalled there, and released once the
 * command has said it is stopping.
 */
const AS_OF = '2026-11-01T00:00:00Z';
let target: CsvTarget;
let client: pg.Client;
/** Holds the locks that stop a command mid-work (its own session: pg_stat_activity is a snapshot per transaction). */
let holder: pg.Client;

beforeAll(async () => {
  target = await openCsvTarget('vc-interrupt-writes-', { tenants: 3, sessions: 5, auditPerSession: 1, seed: 11, asOf: AS_OF });
  client = target.client;
  holder = new pg.Client({ connectionString: target.db.url });
  holder.on('error', () => undefined);
  await holder.connect();
}, 120_000);

afterAll(async () => {
  await holder?.end();
  await target?.close();
});

async function until(what: string, run: RunningCli, probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe())) {
    // A process a signal killed has a signalCode and no exitCode.
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      throw new Error(`ended (${run.child.exitCode ?? run.child.signalCode}) before ${what}: ${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Another session of this database waits on a lock, running a statement that matches `like`. */
const waitingOn = (like: string) => async () =>
  (
    await client.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike $1`,
      [like],
    )
  ).rows[0]!.n > 0;

/** Signals the run, then waits until it has said how it stops (its handler ran) before the test lets it go on. */
async function signalAndWaitForNotice(run: RunningCli, signal: NodeJS.Signals, notice: string): Promise<void> {
  run.child.kill(signal);
  await until(`the ${signal} notice`, run, async () => run.stderr().includes(`${signal}: ${notice}`));
}

describe('tenant forget', () => {
  const stateOf = async (tenant: string) =>
    (
      await client.query(
        `select (select count(*)::int from vc_migration.step_checkpoints where tenant_id = $1) as checkpoints,
                (select count(*)::int from vc_migration.runs where tenant_id = $1 and phase <> 'forget') as runs,
                (select count(*)::int from vc_migration.runs where tenant_id = $1 and phase = 'forget') as forgets`,
        [tenant],
      )
    ).rows[0];

  it('on SIGINT mid-removal rolls everything back (nothing removed, nothing recorded), exits 1, and the same command then forgets', async () => {
    await client.query(
      `insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('phantom', 's1', '1.1', 'done'), ('phantom', 's1', '1.2', 'failed')`,
    );
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status) values ('phantom', 's1', 'done')`);
    const before = await stateOf('phantom');
    expect(before).toEqual({ checkpoints: 2, runs: 1, forgets: 0 });

    // The tenant's run row is locked: forget has deleted its checkpoints (uncommitted) and waits to delete runs.
    await holder.query('begin');
    await holder.query(`select 1 from vc_migration.runs where tenant_id = 'phantom' for update`);
    const run = startMigrator(['tenant', 'forget', 'phantom', '--reason', 'typo of acme'], target.env);
    try {
      await until('forget deletes the runs', run, waitingOn('delete from %runs%'));
      await signalAndWaitForNotice(run, 'SIGINT', 'stopping: the removal is rolled back');
    } finally {
      await holder.query('commit');
    }
    const result = await run.done;
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('tenant forget interrupted (SIGINT): nothing removed, nothing recorded; run it again');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await stateOf('phantom')).toEqual(before);

    const again = await runMigratorJson(['tenant', 'forget', 'phantom', '--reason', 'typo of acme'], target.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.removed).toMatchObject({ step_checkpoints: 2, runs: 1 });
    expect(await stateOf('phantom')).toEqual({ checkpoints: 0, runs: 0, forgets: 1 });
  }, 120_000);
});

describe('enqueue', () => {
  it('on SIGTERM mid-publish stops after the item in hand (published and marked), exits 1, and the same command then publishes only the rest', async () => {
    const tag = randomBytes(4).toString('hex');
    const natsUrl = process.env.VC_TEST_NATS_URL;
    if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
    const env = { ...target.env, VC_NATS_URL: natsUrl, VC_NATS_WORK_STREAM: `WORK_${tag}`, VC_NATS_SUBJECT_PREFIX: `t${tag}.` };
    const tenants = Object.keys(target.expected.tenants).sort();
    expect(tenants).toHaveLength(3);
    const args = ['enqueue', 'phase', 's1', '--all-tenants', '--as-of', AS_OF, '--max-reject-rate', '0.5'];

    // Marking the second item published waits on an advisory lock the test holds: the first item is published
    // and marked, the second published (JetStream has it) and not yet marked.
    const key = 4242;
    await client.query(
      `create function vc_test_hold() returns trigger language plpgsql as $$ begin perform pg_advisory_xact_lock_shared(${key}); return new; end $$`,
    );
    await client.query(
      `create trigger vc_test_hold before update of published_at on vc_migration.plan_items for each row when (new.item_key = '${tenants[1]}') execute function vc_test_hold()`,
    );
    await holder.query('select pg_advisory_lock($1)', [key]);
    const run = startMigrator(args, env);
    try {
      await until('the second item is marked', run, waitingOn('update %plan_items%'));
      await signalAndWaitForNotice(run, 'SIGTERM', 'stopping after the item being published');
    } finally {
      await holder.query('select pg_advisory_unlock($1)', [key]);
      await client.query('drop trigger vc_test_hold on vc_migration.plan_items');
      await client.query('drop function vc_test_hold()');
    }
    const result = await run.done;
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /enqueue interrupted \(SIGTERM\): plan s1-[0-9a-f]+ stored, 2 of 3 items published; run the same command again to publish the rest/,
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const published = async () =>
      (await client.query<{ item_key: string }>('select item_key from vc_migration.plan_items where published_at is not null order by item_key')).rows.map(
        (r) => r.item_key,
      );
    expect(await published()).toEqual(tenants.slice(0, 2));
    const queue = await connectWorkQueue({ url: natsUrl, subjectPrefix: env.VC_NATS_SUBJECT_PREFIX, stream: env.VC_NATS_WORK_STREAM });
    try {
      expect(await queue.messages()).toBe(2);
      const again = await runMigratorJson<{ items: number; published: number; duplicates: number }>(args, env);
      expect(again.code, again.stderr).toBe(0);
      expect(again.json).toMatchObject({ items: 3, published: 1, duplicates: 0 });
      expect(await published()).toEqual(tenants);
      expect(await queue.messages()).toBe(3);
    } finally {
      await queue.close();
    }
  }, 120_000);
});

describe('phase s4 decommission', () => {
  const ROUTING: KongConfig = {
    _format_version: '3.0',
    services: [
      {
        name: 'virtual-care',
        url: 'http://virtual-care.internal:8080',
        routes: [{ name: 'sessions', paths: ['/api/v1/virtual-sessions'], strip_path: false }],
      },
    ],
  };
  let kong: KongAdminStandIn;
  let proxy: KongProxy;

  beforeAll(async () => {
    kong = await startKongAdminStandIn({ initial: ROUTING });
    proxy = await startKongProxy(kong.url);
  });

  afterAll(async () => {
    await proxy?.close();
    await kong?.close();
  });

  const decommissions = async () =>
    (await client.query<{ n: number }>(`select count(*)::int as n from vc_migration.cutovers where tenant_id = 'acme' and action = 'decommission'`)).rows[0]!.n;

  it('on SIGINT while it reads the routing in force records nothing, exits 1, and the same command then decommissions', async () => {
    await client.query(`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing) values ('acme', 'cutover', $1, $1)`, [
      JSON.stringify(ROUTING),
    ]);
    const env = { ...target.env, VC_KONG_ADMIN_URL: proxy.url };
    const args = ['phase', 's4', 'decommission', '--tenant', 'acme', '--force', '--reason', 'CHG-9: legacy host retired early'];
    let reached = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    proxy.beforeRead = async () => {
      reached = true;
      await released;
    };
    const run = startMigrator(args, env);
    try {
      await until('it reads Kong', run, async () => reached);
      await signalAndWaitForNotice(run, 'SIGINT', 'stopping before the decommission is recorded');
    } finally {
      proxy.beforeRead = undefined;
      release();
    }
    const result = await run.done;
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('phase s4 decommission interrupted (SIGINT): nothing recorded; run it again');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await decommissions()).toBe(0);

    const again = await runMigratorJson(args, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ tenant: 'acme', status: 'decommissioned', forced: true });
    expect(await decommissions()).toBe(1);
    const third = await runMigrator([...args, '--json'], env);
    expect(JSON.parse(third.stdout)).toMatchObject({ status: 'already_decommissioned' });
    expect(await decommissions()).toBe(1);
  }, 120_000);
});
