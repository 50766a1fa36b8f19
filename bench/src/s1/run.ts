/**
 * `pnpm --filter @vc/bench s1` — the S1 throughput benchmark (docs/design.md §9), in one run:
 * starts its own MariaDB and PostgreSQL 15, generates two legacy data sets (small and large), then
 * measures the migrator's `phase s1 --all-tenants` on both (rows/s, peak RSS), raw COPY of the large
 * set's rows (the ceiling) and pgloader on the same tables, and rewrites the s1 section of
 * bench/RESULTS.md. Not part of `pnpm test`: the full run takes tens of minutes.
 *
 * Each phase samples the 1-minute load average every second and warns above 1.5 (ratios count only from a
 * quiet run); the report flags whether peak RSS stayed flat (within 10%) between the two sizes.
 *
 * Options (defaults = the published run): --sessions 1000000 --small-sessions 100000 --audit-per-session 4
 * --tenants 4 --seed 20261101 --out bench/RESULTS.md --keep (keep the work dir). A quick plumbing check:
 * `pnpm --filter @vc/bench s1 --sessions 3000 --small-sessions 1000 --out /tmp/RESULTS.md`.
 * Installs postgresql-15, mariadb-server and pgloader when missing and run as root.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIntoMysql, type ExpectedCounts } from '@vc/fixtures';
import { countMismatches } from './counts';
import { createPgDatabase } from '../pg-database';
import { isQuiet, QUIET_LOAD, sampleLoad, type LoadSample } from './load-average';
import { durationByStep, runMigratorS1 } from './migrator';
import { runPgloader } from './pgloader';
import { rawCopy } from './raw-copy';
import { s1Markdown, writeS1Section, type DataSize, type S1Results } from './report';
import { loadBootstrap, loadServices, repoRoot } from './services';
import { VIRTUAL_SESSION_AND_AUDIT } from './tables';

const AS_OF = '2026-11-01T00:00:00Z';
const log = (message: string): void => void process.stderr.write(`[bench s1] ${message}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      sessions: { type: 'string', default: '1000000' },
      'small-sessions': { type: 'string', default: '100000' },
      'audit-per-session': { type: 'string', default: '4' },
      tenants: { type: 'string', default: '4' },
      seed: { type: 'string', default: '20261101' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'RESULTS.md') },
      keep: { type: 'boolean', default: false },
    },
  });
  const int = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer, got ${String(values[name])}`);
    return n;
  };
  return {
    sessions: int('sessions'),
    small: int('small-sessions'),
    audit: int('audit-per-session'),
    tenants: int('tenants'),
    seed: int('seed'),
    out: values.out,
    keep: values.keep,
  };
}

/** 1-minute load average sampled during each measured phase: the box is shared, so say how busy it was. */
const loadAverages: Record<string, LoadSample> = {};

async function timed<T>(what: string, fn: () => Promise<T>): Promise<{ value: T; seconds: number; load: LoadSample }> {
  log(`${what}…`);
  const started = performance.now();
  const sampler = sampleLoad();
  const value = await fn();
  const seconds = (performance.now() - started) / 1000;
  const load = sampler.stop();
  loadAverages[what] = load;
  log(`${what}: ${seconds.toFixed(1)} s (load average during it: mean ${load.mean}, max ${load.max})`);
  if (!isQuiet(load)) log(`WARNING: load average ${load.mean} during "${what}" is above ${QUIET_LOAD}: this measurement is noisy, its ratios do not count`);
  return { value, seconds, load };
}

async function main(): Promise<void> {
  const opts = options();
  const command = `pnpm --filter @vc/bench s1${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const bootstrap = await loadBootstrap();
  const services = await loadServices();
  bootstrap.ensureDebianPackages([
    ...services.debianPackages.filter((p) => p.name !== 'nats-server'),
    { name: 'pgloader', present: () => Boolean(bootstrap.which('pgloader')) },
  ]);
  const workDir = services.makeWorkDir('vc-bench-s1-');
  const running: Array<{ stop(): void }> = [];
  let succeeded = false;
  const cleanup = (): void => {
    for (const s of running.splice(0)) s.stop();
    // A failed run keeps its work dir: the migrator and pgloader logs are in it.
    if (succeeded && !opts.keep) services.removeWorkDir(workDir);
    else log(`work dir kept: ${workDir}`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  try {
    const [mariadb, postgres] = await Promise.all([
      services.startMariadb(workDir),
      services.startPostgres(workDir, { settings: ['shared_buffers=1GB', 'max_wal_size=8GB', 'checkpoint_timeout=30min', 'maintenance_work_mem=256MB'] }),
    ]);
    running.push(mariadb, postgres);
    log(`MariaDB ${mariadb.url}, PostgreSQL ${postgres.url}, work dir ${workDir}`);
    const results = await measure(opts, mariadb.url, postgres.url, workDir, command);
    await writeS1Section(opts.out, s1Markdown(results));
    log(`wrote the s1 section of ${opts.out}`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    succeeded = true;
  } finally {
    cleanup();
  }
}

async function measure(opts: ReturnType<typeof options>, mysqlUrl: string, pgUrl: string, workDir: string, command: string): Promise<S1Results> {
  const base = { tenants: opts.tenants, auditPerSession: opts.audit, seed: opts.seed, asOf: new Date(AS_OF) };
  const sets = { small: opts.small, large: opts.sessions };
  const loaded: Record<string, { size: DataSize; url: string; portalUrl: string; expected: ExpectedCounts }> = {};
  let generated = { rows: 0, seconds: 0 };
  for (const [name, sessions] of Object.entries(sets)) {
    const databases = { digitalCommunication: `dc_${name}`, patientPortal: `pp_${name}` };
    const { value, seconds } = await timed(`generate ${name} (${sessions} sessions) into MariaDB`, () =>
      loadIntoMysql(mysqlUrl, { ...base, sessions, databases }),
    );
    generated = { rows: generated.rows + Object.values(value.rows).reduce((a, b) => a + b, 0), seconds: generated.seconds + seconds };
    loaded[name] = {
      size: { sessions: value.rows.VirtualSession ?? 0, auditRows: value.rows.AuditLog ?? 0 },
      url: `${mysqlUrl}/${databases.digitalCommunication}`,
      portalUrl: `${mysqlUrl}/${databases.patientPortal}`,
      expected: value.expected,
    };
  }
  const rowsOf = (size: DataSize): number => size.sessions + size.auditRows;
  const migrate = async (name: 'small' | 'large') => {
    const set = loaded[name]!;
    const env = {
      VC_DATABASE_URL: await createPgDatabase(pgUrl, `vc_${name}`),
      VC_LEGACY_DATABASE_URL: set.url,
      VC_PORTAL_DATABASE_URL: set.portalUrl,
      VC_LEGACY_MASTER_KEY: set.expected.legacyMasterKey,
      VC_KMS: `local:${join(workDir, 'kms.json')}`,
    };
    const { value, load } = await timed(`migrator s1 on ${name}`, () => runMigratorS1(env, AS_OF, join(workDir, `migrator-${name}.log`)));
    if (value.status !== 'done') throw new Error(`migrator s1 on ${name} ended ${value.status}`);
    const mismatches = countMismatches(set.expected, value.steps);
    if (mismatches.length > 0) log(`migrator s1 on ${name} disagrees with the expected counts:\n  ${mismatches.join('\n  ')}`);
    return {
      seconds: value.ms / 1000,
      rows: rowsOf(set.size),
      rowsPerSecond: rowsOf(set.size) / (value.ms / 1000),
      peakRssMiB: value.peakRssMiB,
      byStep: durationByStep(value.steps),
      countMismatches: mismatches.length,
      load,
    };
  };
  const small = await migrate('small');
  const large = await migrate('large');
  const largeSet = loaded.large!;
  const copy = await timed('raw COPY of the large set', async () =>
    rawCopy(mysqlUrl, await createPgDatabase(pgUrl, 'raw_copy'), 'dc_large', VIRTUAL_SESSION_AND_AUDIT),
  );
  const loader = await timed('pgloader of the large set', async () =>
    runPgloader(
      workDir,
      mysqlUrl,
      'dc_large',
      await createPgDatabase(pgUrl, 'pgloader'),
      VIRTUAL_SESSION_AND_AUDIT.map((t) => t.name),
    ),
  );
  const copiedRows = Object.values(copy.value).reduce((a, b) => a + b, 0);
  if (copiedRows !== rowsOf(largeSet.size) || loader.value.rows !== rowsOf(largeSet.size)) {
    throw new Error(`row counts differ: generated ${rowsOf(largeSet.size)}, raw COPY ${copiedRows}, pgloader ${loader.value.rows}`);
  }
  return {
    command,
    startedAt: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`,
    sizes: { small: loaded.small!.size, large: largeSet.size },
    generate: { seconds: generated.seconds, rowsPerSecond: generated.rows / generated.seconds },
    migrator: { small, large },
    rawCopy: { seconds: copy.seconds, rows: copiedRows, rowsPerSecond: copiedRows / copy.seconds, load: copy.load },
    pgloader: { seconds: loader.seconds, rows: loader.value.rows, rowsPerSecond: loader.value.rows / loader.seconds, load: loader.load },
    loadAverages,
  };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
