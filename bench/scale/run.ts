/**
 * `pnpm --filter @vc/bench scale` — distributed S1 (docs/scale-out.md) with 1, 2 and 4 `migrator worker`
 * processes over the same legacy data, in one run: starts its own MariaDB, PostgreSQL 15 and nats-server -js,
 * generates one data set, then per worker count: a fresh target database, `phase s0`, the workers started
 * and idle, `enqueue phase s1 --all-tenants` timed until PostgreSQL has every plan item done. Reports
 * rows/s, speed-up, rows/s per worker, the CPU seconds each tier used, a model fitted to them
 * (scale/model.ts) and the load average around each run, into bench/scale/RESULTS.md. Not part of `pnpm test`.
 *
 * Options: --sessions 80000 (over all tenants) --tenants 8 --audit-per-session 4 --seed 20261202
 * --workers 1,2,4 --split-larger-than N (cut tenants into key ranges: few big tenants on many workers)
 * --out bench/scale/RESULTS.md. Plumbing check: `--sessions 2000 --out /tmp/SCALE.md`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIntoMysql, type ExpectedCounts } from '@vc/fixtures';
import pg from 'pg';
import { createPgDatabase } from '../src/pg-database';
import { loadBootstrap, loadServices, repoRoot } from '../src/s1/services';
import { childrenNamed, cpuDelta, cpuSecondsByGroup } from './cpu';
import { scaleMarkdown, withScaleSection, type ScaleRun } from './report';

const AS_OF = '2026-11-01T00:00:00Z';
const BATCH_SIZE = 10_000;
const MIGRATOR = join(repoRoot, 'apps', 'migrator', 'bin', 'migrator.mjs');
const log = (message: string): void => void process.stderr.write(`[bench scale] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const load = (): string =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(' / ');

function options() {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '80000' },
      tenants: { type: 'string', default: '8' },
      'audit-per-session': { type: 'string', default: '4' },
      seed: { type: 'string', default: '20261202' },
      workers: { type: 'string', default: '1,2,4' },
      'split-larger-than': { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'scale', 'RESULTS.md') },
    },
  });
  const int = (name: string, raw: string | undefined): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${String(raw)}`);
    return n;
  };
  const workers = values.workers.split(',').map((w) => int('workers', w));
  return {
    sessions: int('sessions', values.sessions),
    tenants: int('tenants', values.tenants),
    audit: int('audit-per-session', values['audit-per-session']),
    seed: int('seed', values.seed),
    workers,
    ...(values['split-larger-than'] === undefined ? {} : { splitLargerThan: int('split-larger-than', values['split-larger-than']) }),
    out: values.out,
  };
}

function migrator(args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn('node', [MIGRATOR, ...args], { cwd: repoRoot, env: { ...process.env, ...env, VC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function migratorOnce(args: readonly string[], env: Record<string, string>): Promise<string> {
  const child = migrator(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`migrator ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
  return stdout;
}

/** Per tenant: sessions, participants and configs in the target, checked against the generator's counts. */
async function targetMismatches(url: string, expected: ExpectedCounts): Promise<{ rows: Record<string, number>; mismatches: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tenant_id: string; sessions: number; participants: number; configs: number }>(
      `select t.tenant_id,
              (select count(*)::int from virtual_sessions s where s.tenant_id = t.tenant_id) as sessions,
              (select count(*)::int from session_participants p where p.tenant_id = t.tenant_id) as participants,
              (select count(*)::int from tenant_virtual_care_configs c where c.tenant_id = t.tenant_id) as configs
         from unnest($1::text[]) as t(tenant_id)`,
      [Object.keys(expected.tenants)],
    );
    const mismatches: string[] = [];
    for (const r of rows) {
      const want = expected.tenants[r.tenant_id]!;
      if (r.sessions !== want.sessions.loaded) mismatches.push(`${r.tenant_id} sessions: expected ${want.sessions.loaded}, got ${r.sessions}`);
      if (r.participants !== want.participants.loaded)
        mismatches.push(`${r.tenant_id} participants: expected ${want.participants.loaded}, got ${r.participants}`);
      if (r.configs !== (want.config.loaded ? 1 : 0)) mismatches.push(`${r.tenant_id} config: expected ${want.config.loaded ? 1 : 0}, got ${r.configs}`);
    }
    const sum = (k: 'sessions' | 'participants' | 'configs') => rows.reduce((a, r) => a + r[k], 0);
    return { rows: { sessions: sum('sessions'), participants: sum('participants'), configs: sum('configs') }, mismatches };
  } finally {
    await client.end();
  }
}

async function waitForPlan(url: string, planId: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ open: number; failed: number }>(
        `select count(*) filter (where status <> 'done')::int as open, count(*) filter (where status = 'failed')::int as failed from vc_migration.plan_items where plan_id = $1`,
        [planId],
      );
      if (rows[0]!.failed > 0) throw new Error(`plan ${planId}: ${rows[0]!.failed} item(s) failed`);
      if (rows[0]!.open === 0) return;
      await sleep(200);
    }
  } finally {
    await client.end();
  }
}

/** The process trees of each tier: the workers, PostgreSQL (pg_ctl daemonises it: its postmaster.pid names it), MariaDB, nats-server. */
function tiers(workerPids: readonly number[], workDir: string): Record<string, number[]> {
  const postmaster = Number(readFileSync(join(workDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { workers: [...workerPids], postgres: [postmaster], mariadb: childrenNamed(process.pid, 'mariadbd'), nats: childrenNamed(process.pid, 'nats-server') };
}

async function runWith(
  workers: number,
  base: Record<string, string>,
  pgServer: string,
  workDir: string,
  expected: ExpectedCounts,
  sourceRows: number,
  split: readonly string[],
): Promise<ScaleRun> {
  const env = {
    ...base,
    VC_DATABASE_URL: await createPgDatabase(pgServer, `vc_scale_${workers}`),
    VC_NATS_WORK_STREAM: `VC_SCALE_WORK_${workers}`,
    VC_NATS_SUBJECT_PREFIX: `scale${workers}.`,
  };
  await migratorOnce(['phase', 's0', '--json'], env);
  const children = Array.from({ length: workers }, () => migrator(['worker', '--poll', '1', '--json'], env));
  for (const c of children) c.stderr!.on('data', () => undefined);
  const exited = children.map((c) => new Promise<number | null>((resolve) => c.on('close', resolve)));
  // Workers start idle (module loading is not S1's time); enqueue then hands them the tenants.
  await sleep(8_000);
  const roots = tiers(
    children.map((c) => c.pid!),
    workDir,
  );
  const loadBefore = load();
  const cpuBefore = cpuSecondsByGroup(roots);
  const started = performance.now();
  const enqueued = JSON.parse(
    await migratorOnce(
      ['enqueue', 'phase', 's1', '--all-tenants', '--as-of', AS_OF, '--batch-size', String(BATCH_SIZE), '--max-reject-rate', '0.05', ...split, '--json'],
      env,
    ),
  ) as { planId: string; items: number };
  await waitForPlan(env.VC_DATABASE_URL, enqueued.planId);
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuDelta(cpuBefore, cpuSecondsByGroup(roots));
  const loadAfter = load();
  for (const c of children) c.kill('SIGTERM');
  const codes = await Promise.all(exited);
  if (codes.some((c) => c !== 0)) throw new Error(`a worker exited ${codes.join(',')} after SIGTERM`);
  const target = await targetMismatches(env.VC_DATABASE_URL, expected);
  if (target.mismatches.length > 0) throw new Error(`${workers} worker(s): the target disagrees with the generator:\n  ${target.mismatches.join('\n  ')}`);
  log(
    `${workers} worker(s): ${seconds.toFixed(1)} s, ${(sourceRows / seconds).toFixed(0)} rows/s, load ${loadBefore} → ${loadAfter}, cpu ${JSON.stringify(cpu)}`,
  );
  return { workers, items: enqueued.items, seconds, rowsPerSecond: sourceRows / seconds, cpuSeconds: cpu, target: target.rows, loadBefore, loadAfter };
}

async function main(): Promise<void> {
  const opts = options();
  const bootstrap = await loadBootstrap();
  const services = await loadServices();
  bootstrap.ensureDebianPackages(services.debianPackages);
  const workDir = services.makeWorkDir('vc-bench-scale-');
  const running: Array<{ stop(): void }> = [];
  const cleanup = () => {
    for (const s of running.splice(0)) s.stop();
    services.removeWorkDir(workDir);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  try {
    const [mariadb, postgres, nats] = await Promise.all([
      services.startMariadb(workDir),
      services.startPostgres(workDir, { settings: ['shared_buffers=512MB', 'max_wal_size=4GB', 'checkpoint_timeout=30min'] }),
      services.startNats(workDir),
    ]);
    running.push(mariadb, postgres, nats);
    log(`generating ${opts.sessions} sessions over ${opts.tenants} tenants…`);
    const data = await loadIntoMysql(mariadb.url, {
      tenants: opts.tenants,
      sessions: opts.sessions,
      auditPerSession: opts.audit,
      seed: opts.seed,
      asOf: new Date(AS_OF),
      databases: { digitalCommunication: 'dc', patientPortal: 'pp' },
    });
    const sourceRows = (data.rows.VirtualSession ?? 0) + (data.rows.AuditLog ?? 0);
    const base = {
      VC_LEGACY_DATABASE_URL: `${mariadb.url}/dc`,
      VC_PORTAL_DATABASE_URL: `${mariadb.url}/pp`,
      VC_LEGACY_MASTER_KEY: data.expected.legacyMasterKey,
      VC_KMS: `local:${join(workDir, 'kms.json')}`,
      VC_NATS_URL: nats.url,
    };
    const runs: ScaleRun[] = [];
    const split = opts.splitLargerThan === undefined ? [] : ['--split-larger-than', String(opts.splitLargerThan)];
    for (const n of opts.workers) runs.push(await runWith(n, base, postgres.url, workDir, data.expected, sourceRows, split));
    const markdown = scaleMarkdown({
      command: `pnpm --filter @vc/bench scale${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
      at: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`,
      cores: cpus().length,
      data: {
        tenants: opts.tenants,
        sessions: data.rows.VirtualSession ?? 0,
        auditRows: data.rows.AuditLog ?? 0,
        sourceRows,
        batchSize: BATCH_SIZE,
        ...(opts.splitLargerThan === undefined ? {} : { splitLargerThan: opts.splitLargerThan }),
      },
      runs,
    });
    const existing = await readFile(opts.out, 'utf8').catch(() => undefined);
    await writeFile(opts.out, withScaleSection(existing, markdown), 'utf8');
    log(`wrote ${opts.out}`);
  } finally {
    cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
