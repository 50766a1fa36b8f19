/**
 * `pnpm --filter @vc/bench exec tsx src/s1/tenant-processes-probe.ts` — issue 16's probe for "mapping off the main
 * thread": would S1 finish sooner if each concurrent tenant had a core of its own? A measurement, not the S1 bench
 * and not part of `pnpm test`.
 *
 * On its own MariaDB and PostgreSQL 15 (started in a temp dir with the S1 bench's settings), one generated legacy set
 * (--sessions over 4 tenants, 4 audit rows a session) is migrated into a fresh target database per round, in one of
 * two ways:
 *  - `one process`: `pnpm migrator phase s1 --all-tenants`, as shipped: two tenants at a time in one node process,
 *    whose single main thread maps and encodes for both;
 *  - `two processes`: `pnpm migrator phase s1 --tenant X`, two processes at a time over the same tenants: each
 *    tenant's mapping on a core of its own, which is what a worker thread per tenant would give, and more (separate
 *    heaps and garbage collectors), for the price of a second process start.
 * The rounds alternate (--rounds, default 4: one, two, two, one), because the first S1 after loading runs faster than
 * later ones whichever way it runs. Per round: wall time, CPU seconds of the whole box (/proc/stat user + nice +
 * system) and the cores that keeps busy, and the 1-minute load average before it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIntoMysql } from '@vc/fixtures';
import { createPgDatabase } from '../pg-database';
import { BATCH_SIZE } from './migrator';
import { loadServices, repoRoot } from './services';

const AS_OF = '2026-11-01T00:00:00Z';
const log = (message: string): void => void process.stderr.write(`[tenant-processes] ${message}\n`);

type Mode = 'one process' | 'two processes';

/** CPU seconds the whole box has spent (user + nice + system): the migrator, MariaDB and PostgreSQL together. */
function boxCpuSeconds(): number {
  const [user, nice, system] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 4).map(Number);
  return (user! + nice! + system!) / 100;
}

function migrator(args: readonly string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['migrator', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env, VC_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pnpm migrator ${args.join(' ')} exited with ${code}`))));
  });
}

/** S1 of every tenant, in one process or two at a time. */
async function runS1(mode: Mode, tenants: readonly string[], env: Record<string, string>): Promise<void> {
  const s1 = ['--as-of', AS_OF, '--max-reject-rate', '0.05', '--batch-size', String(BATCH_SIZE), '--json'];
  if (mode === 'one process') return migrator(['phase', 's1', '--all-tenants', ...s1], env);
  const queue = [...tenants];
  const lane = async (): Promise<void> => {
    for (let tenant = queue.shift(); tenant !== undefined; tenant = queue.shift()) await migrator(['phase', 's1', '--tenant', tenant, ...s1], env);
  };
  await Promise.all([lane(), lane()]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '4' } } });
  const sessions = Number(values.sessions);
  const rounds = Number(values.rounds);
  const services = await loadServices();
  const workDir = services.makeWorkDir('vc-bench-tenant-processes-');
  const [mariadb, postgres] = await Promise.all([
    services.startMariadb(workDir),
    services.startPostgres(workDir, { settings: ['shared_buffers=1GB', 'max_wal_size=8GB', 'checkpoint_timeout=30min', 'maintenance_work_mem=256MB'] }),
  ]);
  try {
    const databases = { digitalCommunication: 'dc', patientPortal: 'pp' };
    const { expected } = await loadIntoMysql(mariadb.url, { tenants: 4, sessions, auditPerSession: 4, seed: 20261101, asOf: new Date(AS_OF), databases });
    const tenants = Object.keys(expected.tenants);
    const order: Mode[] = ['one process', 'two processes'];
    for (let round = 0; round < rounds; round++) {
      // one, two, two, one, …: each way runs first after the other as often.
      const mode = order[[0, 1, 1, 0][round % 4]!]!;
      const env = {
        VC_DATABASE_URL: await createPgDatabase(postgres.url, `vc_round_${round}`),
        VC_LEGACY_DATABASE_URL: `${mariadb.url}/${databases.digitalCommunication}`,
        VC_PORTAL_DATABASE_URL: `${mariadb.url}/${databases.patientPortal}`,
        VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
        VC_KMS: `local:${join(workDir, 'kms.json')}`,
      };
      await migrator(['phase', 's0', '--json'], env);
      const load = loadavg()[0]!.toFixed(2);
      const started = performance.now();
      const cpu = boxCpuSeconds();
      await runS1(mode, tenants, env);
      const wall = (performance.now() - started) / 1000;
      const used = boxCpuSeconds() - cpu;
      log(`round ${round + 1}, ${mode}: wall ${wall.toFixed(1)} s, box CPU ${used.toFixed(1)} s (${(used / wall).toFixed(2)} cores busy), load before ${load}`);
    }
  } finally {
    mariadb.stop();
    postgres.stop();
    services.removeWorkDir(workDir);
  }
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
