/**
 * `pnpm --filter @vc/bench exec tsx service/run.ts`: autocannon on the service's GET /sessions/:id and
 * POST /sessions/:id/join, side by side with a bare Express route of the same shape, in one run on one
 * machine. Writes the "service" section of bench/RESULTS.md. Not part of `pnpm test`.
 *
 * Env: VC_BENCH_POSTGRES_URL (else a throwaway PostgreSQL 15 is started), BENCH_SECONDS (10),
 * BENCH_CONNECTIONS (64, the connections the targets are set at), BENCH_SESSIONS (200), BENCH_CPU_PROF (a directory: CPU profiles of the server processes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { postmasterPid, treeCpuSeconds } from './cpu';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);

interface Seeded {
  serviceUrl: string;
  bareUrl: string;
  practitionerToken: string;
  sessions: Array<{ id: string; patientToken: string }>;
}

interface Row {
  name: string;
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU ms per request of the server process and of PostgreSQL during this row (undefined off Linux). */
  serverCpuMs: number | undefined;
  pgCpuMs: number | undefined;
  /** The 1-minute load average, sampled every second during the row: mean and max. */
  load: { mean: number; max: number };
}

/** Whose CPU a row is charged: the server child's process tree and the postmaster's. */
interface Meters {
  server: number | undefined;
  postgres: number | undefined;
}

interface Services {
  makeWorkDir(prefix: string): string;
  startPostgres(dir: string): Promise<{ url: string; stop(): void }>;
  removeWorkDir(dir: string): void;
}

/** Spawns `server.ts` with `env` and returns it with the JSON line it prints once ready. */
async function spawnServer<T>(env: Record<string, string>): Promise<{ child: ChildProcess; ready: T }> {
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each server process, written there when it exits (open in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [...profile, join(here, 'server.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with code ${code} before it was ready`)));
  });
  return { child, ready: JSON.parse(first) as T };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Round-robin over the seeded sessions, so joins spread like real traffic instead of fighting over one row. */
function rotating(seeded: Seeded, build: (s: Seeded['sessions'][number]) => { path: string; token: string }, method: 'GET' | 'POST') {
  let next = 0;
  return [
    {
      method,
      setupRequest: (req: { path?: string; headers?: Record<string, string>; body?: string }) => {
        const target = build(seeded.sessions[next++ % seeded.sessions.length]!);
        req.path = target.path;
        req.headers = { ...req.headers, authorization: `Bearer ${target.token}`, 'content-type': 'application/json' };
        if (method === 'POST') req.body = '{}';
        return req;
      },
    },
  ];
}

async function load(name: string, url: string, requests: ReturnType<typeof rotating>, meters: Meters, seconds = SECONDS): Promise<Row> {
  const cpu = () => ({ server: meters.server && treeCpuSeconds(meters.server), postgres: meters.postgres && treeCpuSeconds(meters.postgres) });
  const before = cpu();
  // Other work on the machine skews a row: its load average says how much there was while it ran.
  const loads = [loadavg()[0]!];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 1000);
  let result: autocannon.Result;
  try {
    result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests: requests as never });
  } finally {
    clearInterval(sampler);
  }
  const after = cpu();
  const perRequest = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || result.requests.total === 0 ? undefined : ((a - b) * 1000) / result.requests.total;
  return {
    name,
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    serverCpuMs: perRequest(after.server, before.server),
    pgCpuMs: perRequest(after.postgres, before.postgres),
    load: { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) },
  };
}

function table(rows: Row[]): string {
  const ms = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(3));
  const lines = [
    '| route | req/s (mean) | p50 ms | p99 ms | requests | non-2xx | errors | server CPU ms/req | PostgreSQL CPU ms/req | load (mean, max) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.reqPerSec.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.total} | ${r.non2xx} | ${r.errors} | ${ms(r.serverCpuMs)} | ${ms(r.pgCpuMs)} | ${r.load.mean.toFixed(1)}, ${r.load.max.toFixed(1)} |`,
    );
  return lines.join('\n');
}

/** The targets of issue 16, against bare Express in the same run. */
function verdicts(bareGet: Row, get: Row, bareJoin: Row, join: Row): string {
  const check = (ok: boolean) => (ok ? 'met' : 'missed');
  const getRatio = get.reqPerSec / bareGet.reqPerSec;
  const joinRatio = join.reqPerSec / bareJoin.reqPerSec;
  return [
    `Ratios to bare Express in this run: GET **${getRatio.toFixed(2)}×** (target ≥ 0.5×: ${check(getRatio >= 0.5)}), join **${joinRatio.toFixed(2)}×** (target ≥ 0.25×: ${check(joinRatio >= 0.25)});`,
    `p99 GET ${get.p99} ms (target < 25: ${check(get.p99 < 25)}), join ${join.p99} ms (target < 60: ${check(join.p99 < 60)}).`,
  ].join(' ');
}

/**
 * Replaces (or appends) the service section of RESULTS.md, between `<!-- service:start -->` and
 * `<!-- service:end -->`, leaving every other section (and its markers) as it is.
 */
async function writeSection(body: string): Promise<void> {
  const file = join(root, 'bench', 'RESULTS.md');
  const current = await readFile(file, 'utf8').catch(() => '# Benchmark results\n');
  const section = `<!-- service:start -->\n## service\n\n${body.trim()}\n<!-- service:end -->`;
  const marked = /<!-- service:start -->[\s\S]*?<!-- service:end -->/;
  // A section written before the markers existed ends at the next heading or another section's marker.
  const unmarked = /^## service\n[\s\S]*?(?=^## |^<!-- |(?![\s\S]))/m;
  let next: string;
  if (marked.test(current)) next = current.replace(marked, section);
  else if (unmarked.test(current)) next = current.replace(unmarked, `${section}\n\n`);
  else next = `${current.trimEnd()}\n\n${section}\n`;
  await writeFile(file, `${next.trimEnd()}\n`);
}

async function main(): Promise<void> {
  let postgresUrl = process.env.VC_BENCH_POSTGRES_URL;
  let stopPostgres = () => undefined as void;
  if (!postgresUrl) {
    // A path in a variable: the harness is plain .mjs without types.
    const servicesPath = join(root, 'scripts', 'lib', 'services.mjs');
    const services = (await import(servicesPath)) as Services;
    const dir = services.makeWorkDir('vc-bench-pg-');
    const started = await services.startPostgres(dir);
    postgresUrl = started.url;
    stopPostgres = () => {
      started.stop();
      services.removeWorkDir(dir);
    };
  }
  const policy = await spawnServer<{ url: string }>({ BENCH_ROLE: 'access-policy' });
  const { child, ready: seeded } = await spawnServer<Seeded>({ VC_BENCH_POSTGRES_URL: postgresUrl, BENCH_ACCESS_POLICY_URL: policy.ready.url });
  const meters: Meters = { server: child.pid, postgres: postmasterPid(new URL(postgresUrl).port) };
  try {
    const getSession = rotating(seeded, (s) => ({ path: `/api/v1/virtual-care/sessions/${s.id}`, token: seeded.practitionerToken }), 'GET');
    const join = rotating(seeded, (s) => ({ path: `/api/v1/virtual-care/sessions/${s.id}/join`, token: s.patientToken }), 'POST');
    const bareGet = rotating(seeded, (s) => ({ path: `/bare/sessions/${s.id}`, token: seeded.practitionerToken }), 'GET');
    const bareJoin = rotating(seeded, (s) => ({ path: `/bare/sessions/${s.id}/join`, token: s.patientToken }), 'POST');
    // Other work on the machine skews every row alike; the load average says how much there was.
    const loadBefore = loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');
    // Warm-up (JIT, pools, consent cache), not reported.
    await load('warm-up', seeded.serviceUrl, getSession, meters, 2);
    await load('warm-up', seeded.serviceUrl, join, meters, 2);
    const rows = [
      await load('bare Express GET /bare/sessions/:id (static JSON)', seeded.bareUrl, bareGet, meters),
      await load('service GET /sessions/:id', seeded.serviceUrl, getSession, meters),
      await load('bare Express POST /bare/sessions/:id/join (static JSON)', seeded.bareUrl, bareJoin, meters),
      await load('service POST /sessions/:id/join (patient)', seeded.serviceUrl, join, meters),
    ];
    const loadAfter = loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');
    const command = 'pnpm --filter @vc/bench exec tsx service/run.ts';
    const body = [
      `Command: \`${command}\` (env: BENCH_SECONDS=${SECONDS}, BENCH_CONNECTIONS=${CONNECTIONS}, BENCH_SESSIONS=${seeded.sessions.length}).`,
      `Run: ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average before the run ${loadBefore}, after it ${loadAfter}${Number(loadBefore.split(' ')[0]) > 1.5 ? ' (**above 1.5: a loaded machine, compare only the ratios and the CPU per request**)' : ''}; PostgreSQL 15 on loopback; autocannon in this process; service and bare Express in one child process, the access-policy stand-in in another; service log level warn; pool ${process.env.BENCH_POOL_MAX ?? 10} PostgreSQL connections.`,
      '',
      table(rows),
      '',
      verdicts(rows[0]!, rows[1]!, rows[2]!, rows[3]!),
      '',
      'GET reads one session by id and tenant (a prepared statement). Each caller keeps one token, as a browser session does: the first request',
      'verifies it in full (signature, exp, lifetime, claims), later ones take it from the verified-token cache and rerun the clock checks.',
      'POST join = consent decision (access-policy stand-in in its own process, 5 s client cache, asked alongside the session read), the tenant',
      'config (cached, re-checked by the write), the tenant secret (KMS-decrypted, then cached per ciphertext) and an HS256 Jitsi token, then ONE',
      'statement (versioned UPDATE, participant upsert, audit row, outbox row as CTEs, a named prepared statement whose text is built once):',
      '2 PostgreSQL round trips per join; requests rotate over the seeded sessions, each joined by its own patient.',
      'Bare Express rows: the same paths answered with static JSON, no auth and no database: the ceiling of the framework here.',
      'CPU ms/req: CPU time of the server process tree and of all PostgreSQL processes during the row, over its requests (from /proc);',
      'it moves far less with other work on the machine than req/s does, but it does move: on this 2-core box a busy second core slows',
      'every instruction. Load: the 1-minute load average sampled every second during the row. The tables are ANALYZEd after seeding.',
      'BENCH_CPU_PROF=<dir> writes V8 CPU profiles of the server processes.',
    ].join('\n');
    console.log(body);
    await writeSection(body);
    const failed = rows.filter((r) => r.non2xx > 0 || r.errors > 0);
    if (failed.length > 0) {
      console.error(`non-2xx or errors in: ${failed.map((r) => r.name).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    await stop(child);
    await stop(policy.child);
    stopPostgres();
  }
}

main().catch((error: unknown) => {
  console.error('bench failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
