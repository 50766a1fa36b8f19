/**
 * The measured part of the reliability bench: a clean `phase s1 --all-tenants` on one database, then
 * rounds on fresh databases, each killing S1 at seeded random instants, resuming, and comparing the
 * table digests with the clean run's (the same digests the migrator's resume tests use).
 */
import pg from 'pg';
import { tableDigests, type TableDigests } from '../../apps/migrator/src/phases/resume-support';
import { runMigrator, startMigrator } from '../../apps/migrator/src/testing/run-cli';
import { seededRandom } from './random';

export interface RoundOptions {
  rounds: number;
  killsPerRound: number;
  /** Share of the interruptions that drop the PostgreSQL connections instead of signalling the process. */
  pgDropShare: number;
  seed: number;
  batchSize: number;
  asOf: string;
}

export interface Kill {
  round: number;
  /** A signal to the process, or `pg-drop`: PostgreSQL terminates every backend of the run (failover, operator). */
  signal: 'SIGKILL' | 'SIGTERM' | 'pg-drop';
  /** Milliseconds after the run began its work that the interruption came. */
  atMs: number;
  /** Steps not done after the kill, as `tenant step status read` (where the kill landed). */
  landed: string;
  /** How the process ended: `signal SIGKILL`, `exit 1` (+ whether it crashed), or `exit 0` (finished before, or rode it out). */
  ended: string;
}

export interface Round {
  round: number;
  resumeExit: number | null;
  /** Tables whose digest differs from the clean run's; empty means identical. */
  differing: string[];
}

export interface ReliabilityResults {
  /** The clean run's work: from its runs row to its exit. */
  cleanMs: number;
  kills: Kill[];
  rounds: Round[];
}

/** Creates one database per name on the server and returns the URLs (with `phase s0` left to the caller). */
export type CreateDatabase = (name: string) => Promise<string>;

const s1Args = (o: RoundOptions) => [
  'phase',
  's1',
  '--all-tenants',
  '--as-of',
  o.asOf,
  '--batch-size',
  String(o.batchSize),
  '--max-reject-rate',
  '0.5',
  '--json',
];

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function prepared(createDatabase: CreateDatabase, name: string, baseEnv: Record<string, string>): Promise<Record<string, string>> {
  const env = { ...baseEnv, VC_DATABASE_URL: await createDatabase(name) };
  const s0 = await runMigrator(['phase', 's0', '--json'], env);
  if (s0.code !== 0) throw new Error(`phase s0 on ${name} exited ${s0.code}: ${s0.stderr.slice(-2000)}`);
  return env;
}

async function landedAt(url: string): Promise<string> {
  const rows = await withClient(
    url,
    async (c) =>
      (
        await c.query<{ t: string }>(
          `select tenant_id || ' ' || step_id || ' ' || status || ' read ' || read as t from vc_migration.step_checkpoints where phase = 's1' and status <> 'done' order by 1`,
        )
      ).rows,
  );
  return rows.map((r) => r.t).join('; ') || 'no step started, or all done';
}

const runsOf = (c: pg.Client) => c.query<{ n: number }>(`select count(*)::int as n from vc_migration.runs where phase = 's1'`).then((r) => r.rows[0]!.n);

/**
 * Starts S1 and resolves once it has begun its work (its `vc_migration.runs` row exists: settings read,
 * lock taken) or ended, so kill instants measure into the work rather than into Node's startup.
 */
async function startWorking(o: RoundOptions, env: Record<string, string>): Promise<{ run: ReturnType<typeof startMigrator>; started: number }> {
  return withClient(env.VC_DATABASE_URL!, async (c) => {
    const before = await runsOf(c);
    const run = startMigrator(s1Args(o), env);
    let ended = false;
    void run.done.then(() => (ended = true));
    while (!ended && (await runsOf(c)) === before) await new Promise((resolve) => setTimeout(resolve, 5));
    return { run, started: performance.now() };
  });
}

/** Ends every backend of the run's database but this one; the run holds its lock and batches on them. */
async function terminateBackends(url: string): Promise<void> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  await withClient(url, (c) => c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]));
}

async function killOnce(o: RoundOptions, env: Record<string, string>, round: number, signal: Kill['signal'], atMs: number): Promise<Kill> {
  const { run } = await startWorking(o, env);
  const url = env.VC_DATABASE_URL!;
  const interrupt = () => (signal === 'pg-drop' ? void terminateBackends(url) : void run.child.kill(signal));
  const timer = setTimeout(interrupt, atMs);
  const result = await run.done;
  clearTimeout(timer);
  // A crash, not a handled failure: say so, since both exit 1.
  const crashed = result.stderr.includes("Unhandled 'error' event") ? ' (crashed: unhandled pg client error, no JSON summary)' : '';
  const ended = result.signal ? `signal ${result.signal}` : `exit ${result.code}${crashed}`;
  return { round, signal, atMs, landed: await landedAt(env.VC_DATABASE_URL!), ended };
}

/** Runs the clean reference and the kill rounds; `log` gets one line per event. */
export async function killRounds(
  o: RoundOptions,
  baseEnv: Record<string, string>,
  createDatabase: CreateDatabase,
  log: (line: string) => void,
): Promise<ReliabilityResults> {
  const cleanEnv = await prepared(createDatabase, 'reliability_clean', baseEnv);
  const { run, started } = await startWorking(o, cleanEnv);
  const clean = await run.done;
  const cleanMs = performance.now() - started;
  if (clean.code !== 0) throw new Error(`the clean s1 run exited ${clean.code}: ${clean.stderr.slice(-2000)}`);
  const reference: TableDigests = await withClient(cleanEnv.VC_DATABASE_URL!, tableDigests);
  log(`clean run: ${(cleanMs / 1000).toFixed(1)} s`);
  const random = seededRandom(o.seed);
  const kills: Kill[] = [];
  const rounds: Round[] = [];
  for (let round = 1; round <= o.rounds; round += 1) {
    const env = await prepared(createDatabase, `reliability_round_${round}`, baseEnv);
    for (let k = 0; k < o.killsPerRound; k += 1) {
      // Instants across the clean run's work; a resumed run has less left, so a late instant may find it finished.
      const atMs = Math.round(random() * cleanMs);
      const draw = random();
      const signal = draw < o.pgDropShare ? 'pg-drop' : draw < o.pgDropShare + (1 - o.pgDropShare) * 0.75 ? 'SIGKILL' : 'SIGTERM';
      const kill = await killOnce(o, env, round, signal, atMs);
      kills.push(kill);
      log(`round ${round} kill ${k + 1}: ${signal} at ${atMs} ms → ${kill.ended}; left: ${kill.landed}`);
    }
    const resume = await runMigrator(s1Args(o), env);
    const digests = await withClient(env.VC_DATABASE_URL!, tableDigests);
    const differing = Object.keys(reference).filter((t) => JSON.stringify(reference[t]) !== JSON.stringify(digests[t]));
    rounds.push({ round, resumeExit: resume.code, differing });
    log(`round ${round}: resume exit ${resume.code}, ${differing.length === 0 ? 'identical to the clean run' : `differs in ${differing.join(', ')}`}`);
  }
  return { cleanMs, kills, rounds };
}
