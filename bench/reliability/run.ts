/**
 * `pnpm --filter @vc/bench reliability` — docs/design.md §9 "a run killed at random instants and resumed ends
 * identical to a clean run", measured: starts its own MariaDB and PostgreSQL 15, generates a legacy data
 * set into MariaDB, runs `migrator phase s1 --all-tenants` once clean, then `--rounds` rounds on fresh
 * databases that each interrupt S1 `--kills-per-round` times at seeded random instants — a share
 * `--pg-drop-share` by PostgreSQL terminating the run's backends (a dropped connection), the rest by
 * SIGKILL (3 in 4) or SIGTERM —, resume it, and compare table digests with the clean run. Writes bench/reliability/RESULTS.md.
 * Exits 1 when any round ends different from the clean run. Not part of `pnpm test`.
 *
 * Options: --rounds 6 --kills-per-round 2 --sessions 4000 (over all tenants) --tenants 2 --seed 20261127
 * --batch-size 50 --pg-drop-share 0.25 --out bench/reliability/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIntoMysql } from '@vc/fixtures';
import pg from 'pg';
import { loadBootstrap, loadServices, repoRoot } from '../src/s1/services';
import { killRounds } from './kill-rounds';
import { reliabilityMarkdown } from './report';

const AS_OF = '2026-11-01T00:00:00Z';
const log = (message: string): void => void process.stderr.write(`[bench reliability] ${message}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      'kills-per-round': { type: 'string', default: '2' },
      sessions: { type: 'string', default: '4000' },
      tenants: { type: 'string', default: '2' },
      seed: { type: 'string', default: '20261127' },
      'batch-size': { type: 'string', default: '50' },
      'pg-drop-share': { type: 'string', default: '0.25' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'reliability', 'RESULTS.md') },
    },
  });
  const share = Number(values['pg-drop-share']);
  if (!(share >= 0 && share <= 1)) throw new Error(`--pg-drop-share: expected a number from 0 to 1, got ${String(values['pg-drop-share'])}`);
  const int = (name: Exclude<keyof typeof values, 'out' | 'pg-drop-share'>): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${String(values[name])}`);
    return n;
  };
  return {
    rounds: int('rounds'),
    killsPerRound: int('kills-per-round'),
    sessions: int('sessions'),
    tenants: int('tenants'),
    seed: int('seed'),
    batchSize: int('batch-size'),
    pgDropShare: share,
    out: values.out,
  };
}

const uptime = (): string => execFileSync('uptime', { encoding: 'utf8' }).trim();

async function main(): Promise<void> {
  const opts = options();
  const command = `pnpm --filter @vc/bench reliability${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const [bootstrap, services] = await Promise.all([loadBootstrap(), loadServices()]);
  bootstrap.ensureDebianPackages(services.debianPackages.filter((p) => p.name !== 'nats-server'));
  const workDir = services.makeWorkDir('vc-bench-reliability-');
  const running: Array<{ stop(): void }> = [];
  let succeeded = false;
  const cleanup = (): void => {
    for (const s of running.splice(0)) s.stop();
    if (succeeded) services.removeWorkDir(workDir);
    else log(`work dir kept: ${workDir}`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => (cleanup(), process.exit(130)));
  try {
    const [mariadb, postgres] = await Promise.all([services.startMariadb(workDir), services.startPostgres(workDir)]);
    running.push(mariadb, postgres);
    const loadBefore = uptime();
    const databases = { digitalCommunication: 'dc_reliability', patientPortal: 'pp_reliability' };
    const loaded = await loadIntoMysql(mariadb.url, {
      tenants: opts.tenants,
      sessions: opts.sessions,
      auditPerSession: 4,
      seed: 20261101,
      asOf: new Date(AS_OF),
      databases,
    });
    const baseEnv = {
      VC_LEGACY_DATABASE_URL: `${mariadb.url}/${databases.digitalCommunication}`,
      VC_LEGACY_MASTER_KEY: loaded.expected.legacyMasterKey,
      VC_KMS: `local:${join(workDir, 'kms.json')}`,
    };
    const createDatabase = async (name: string): Promise<string> => {
      const admin = new pg.Client({ connectionString: postgres.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).finally(() => admin.end());
      const u = new URL(postgres.url);
      u.pathname = `/${name}`;
      return u.toString();
    };
    const results = await killRounds({ ...opts, asOf: AS_OF }, baseEnv, createDatabase, log);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`;
    const rows = Object.values(loaded.rows).reduce((a, b) => a + b, 0);
    await writeFile(
      opts.out,
      reliabilityMarkdown({ command, startedAt: new Date().toISOString(), machine, loadBefore, loadAfter: uptime(), legacyRows: rows, options: opts, results }),
    );
    log(`wrote ${opts.out}`);
    succeeded = true;
    if (results.rounds.some((r) => r.differing.length > 0 || r.resumeExit !== 0)) process.exitCode = 1;
  } finally {
    cleanup();
  }
}

await main();
