/**
 * `pnpm --filter @vc/bench validate` — `migrator validate --all-tenants` over the S1 bench's generated
 * tenant set (docs/design.md §9; target: under 10 s per tenant on the 1M-session set, memory flat). In one
 * run: starts its own MariaDB and PostgreSQL 15, generates two sets (small and large) with @vc/fixtures,
 * runs S1 on each to produce the target, puts an Encounter in a FHIR stand-in for every legacy encounterRef
 * (so the Encounter check looks every one of them up, as on a healthy tenant), then times validate on
 * both with an access-policy stand-in: wall time, seconds per check and tenant (from its JUnit report),
 * peak RSS, CPU seconds of the migrator, MariaDB, PostgreSQL and the stand-ins (what the load average does
 * not change much), and the load average sampled during the run. Rewrites the validate section of bench/RESULTS.md.
 *
 * Options: --sessions 1000000 --small-sessions 100000 --audit-per-session 4 --tenants 4 --seed 20261101
 * --out bench/RESULTS.md --keep. A quick plumbing check: `--sessions 4000 --small-sessions 1000 --out /tmp/R.md`.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadIntoMysql } from '@vc/fixtures';
import { startAccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import mysql from 'mysql2/promise';
import { createPgDatabase } from '../pg-database';
import { writeSection } from '../results-file';
import { runMigratorS1 } from '../s1/migrator';
import { samplePeakRss } from '../s1/peak-rss';
import { loadBootstrap, loadServices, repoRoot } from '../s1/services';
import { cpuSeconds, cpuSnapshot } from './cpu-seconds';
import { byCheck, byTenant, checkTimes } from './junit-times';
import { validateMarkdown, type ValidateResults, type ValidateRun } from './report';

const AS_OF = '2026-11-01T00:00:00Z';
const log = (message: string): void => void process.stderr.write(`[bench validate] ${message}\n`);

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

/** Every Encounter legacy refers to, created in the stand-in (untimed: it only makes the look-ups find what a healthy EHR holds). */
async function seedEncounters(fhir: FhirStandIn, legacyUrl: string): Promise<number> {
  const connection = await mysql.createConnection(legacyUrl);
  const [rows] = await connection
    .query<mysql.RowDataPacket[]>("select distinct encounterRef from VirtualSession where encounterRef like 'Encounter/%'")
    .finally(() => connection.end());
  let next = 0;
  // Eight PUTs in flight: the stand-in serialises writes anyway, this only hides the round trips.
  const worker = async (): Promise<void> => {
    for (let i = next++; i < rows.length; i = next++) {
      const id = String(rows[i]!.encounterRef).slice('Encounter/'.length);
      const resource = { resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' } };
      const response = await fetch(`${fhir.url}/Encounter/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify(resource),
      });
      if (!response.ok) throw new Error(`FHIR stand-in refused Encounter/${id}: ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return rows.length;
}

/** `pnpm migrator validate --all-tenants`, timed, with its peak RSS and the load average sampled each second. */
async function runValidate(env: Record<string, string>, workDir: string, outDir: string, logPath: string): Promise<Omit<ValidateRun, 'sessions' | 'tenants'>> {
  const logFile = createWriteStream(logPath, { flags: 'a' });
  const args = ['migrator', 'validate', '--all-tenants', '--as-of', AS_OF, '--report', 'json,junit', '--out', outDir];
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 1000);
  const cpuBefore = cpuSnapshot(workDir);
  const started = performance.now();
  const child = spawn('pnpm', args, { cwd: repoRoot, env: { ...process.env, ...env, VC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // The node process that runs the CLI (bin/migrator.mjs loads src/bin.ts in-process). VmHWM is a high-water
  // mark, so a slow sample still sees the peak, and the stand-ins in this process keep their CPU.
  const rss = samplePeakRss(child.pid!, /migrator\/bin\/migrator\.mjs|migrator\/src\/bin\.ts/, 1000);
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(cpuBefore, cpuSnapshot(workDir));
  const peakRssMiB = rss.stop();
  clearInterval(sampler);
  loads.push(loadavg()[0]!);
  logFile.end();
  // Exit 3 is a failing check (consents are S3's, still to run here): the timing stands; anything else is a failure.
  if (code !== 0 && code !== 3) throw new Error(`pnpm ${args.join(' ')} exited with ${code} (log: ${logPath})`);
  const junit = await readFile(join(outDir, 'validation.junit.xml'), 'utf8');
  const times = checkTimes(junit);
  const report = JSON.parse(await readFile(join(outDir, 'validation.json'), 'utf8')) as { checks: Array<{ id: string; status: string }> };
  const statuses: Record<string, number> = {};
  for (const c of report.checks) statuses[`${c.id} ${c.status}`] = (statuses[`${c.id} ${c.status}`] ?? 0) + 1;
  return {
    seconds,
    exitCode: code,
    peakRssMiB,
    cpu,
    perTenant: byTenant(times, junit),
    perCheck: byCheck(times),
    statuses,
    load: { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) },
  };
}

async function main(): Promise<void> {
  const opts = options();
  const command = `pnpm --filter @vc/bench validate${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const bootstrap = await loadBootstrap();
  const services = await loadServices();
  bootstrap.ensureDebianPackages(services.debianPackages.filter((p) => p.name !== 'nats-server'));
  const workDir = services.makeWorkDir('vc-bench-validate-');
  const running: Array<{ stop(): void }> = [];
  let succeeded = false;
  const cleanup = (): void => {
    for (const s of running.splice(0)) s.stop();
    if (succeeded && !opts.keep) services.removeWorkDir(workDir);
    else log(`work dir kept: ${workDir}`);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  try {
    const [mariadb, postgres, accessPolicy] = await Promise.all([
      services.startMariadb(workDir),
      services.startPostgres(workDir, { settings: ['shared_buffers=512MB'] }),
      startAccessPolicyStandIn(),
    ]);
    running.push(mariadb, postgres, { stop: () => void accessPolicy.close() });
    const runs: ValidateRun[] = [];
    for (const [name, sessions] of [
      ['small', opts.small],
      ['large', opts.sessions],
    ] as const) {
      const databases = { digitalCommunication: `dc_${name}`, patientPortal: `pp_${name}` };
      log(`generate ${name} (${sessions} sessions)…`);
      const { expected } = await loadIntoMysql(mariadb.url, {
        tenants: opts.tenants,
        sessions,
        auditPerSession: opts.audit,
        seed: opts.seed,
        asOf: new Date(AS_OF),
        databases,
      });
      const legacyUrl = `${mariadb.url}/${databases.digitalCommunication}`;
      const env = {
        VC_DATABASE_URL: await createPgDatabase(postgres.url, `vc_${name}`),
        VC_LEGACY_DATABASE_URL: legacyUrl,
        VC_PORTAL_DATABASE_URL: `${mariadb.url}/${databases.patientPortal}`,
        VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
        VC_KMS: `local:${join(workDir, 'kms.json')}`,
      };
      log(`s1 on ${name} (produces the target)…`);
      const s1 = await runMigratorS1(env, AS_OF, join(workDir, `s1-${name}.log`));
      if (s1.status !== 'done') throw new Error(`s1 on ${name} ended ${s1.status}`);
      const fhir = await startFhirStandIn();
      try {
        log(`seeded ${await seedEncounters(fhir, legacyUrl)} Encounters into the FHIR stand-in; validate on ${name}…`);
        const run = await runValidate(
          { ...env, VC_FHIR_BASE_URL: fhir.url, VC_ACCESS_POLICY_URL: accessPolicy.url },
          workDir,
          join(workDir, `reports-${name}`),
          join(workDir, `validate-${name}.log`),
        );
        log(
          `validate on ${name}: ${run.seconds.toFixed(1)} s, peak RSS ${run.peakRssMiB} MiB, load ${run.load.mean.toFixed(1)} (max ${run.load.max.toFixed(1)})`,
        );
        runs.push({ sessions, tenants: opts.tenants, ...run });
      } finally {
        await fhir.close();
      }
    }
    const results: ValidateResults = {
      command,
      startedAt: new Date().toISOString(),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}`,
      runs,
    };
    await writeSection(opts.out, 'validate', validateMarkdown(results));
    log(`wrote the validate section of ${opts.out}`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    succeeded = true;
  } finally {
    cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
