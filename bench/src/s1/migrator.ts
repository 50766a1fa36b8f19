/**
 * Runs the migrator exactly as an operator would (`pnpm migrator phase s0`, then
 * `pnpm migrator phase s1 --all-tenants --json`), timing s1 and sampling its peak RSS.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { samplePeakRss } from './peak-rss';
import { repoRoot } from './services';

/** The command line of the node process that runs the migrator (the one whose memory is measured). */
export const MIGRATOR_PROCESS = /migrator\/bin\/migrator\.mjs|migrator\/src\/bin\.ts/;

export interface MigratorEnv {
  VC_DATABASE_URL: string;
  VC_LEGACY_DATABASE_URL: string;
  VC_PORTAL_DATABASE_URL: string;
  VC_LEGACY_MASTER_KEY: string;
  VC_KMS: string;
}

export interface StepSummary {
  id: string;
  tenant: string;
  status: string;
  read: number;
  written: number;
  rejected: number;
  deferred?: number;
  durationMs: number;
}
export interface MigratorRun {
  ms: number;
  peakRssMiB: number;
  status: string;
  steps: StepSummary[];
}

async function pnpmMigrator(args: readonly string[], env: MigratorEnv, logPath: string): Promise<{ ms: number; peakRssMiB: number; stdout: string }> {
  const log = createWriteStream(logPath, { flags: 'a' });
  const started = performance.now();
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the migrator process, written there when it exits (node refuses
  // --cpu-prof in NODE_OPTIONS, so the profiled run starts node with tsx's loader instead of `pnpm migrator`).
  const dir = process.env.BENCH_CPU_PROF;
  const [command, argv] = dir
    ? ['node', ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', 'apps/migrator/src/bin.ts', ...args]]
    : ['pnpm', ['migrator', ...args]];
  const child = spawn(command, argv, { cwd: repoRoot, env: { ...process.env, ...env, VC_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // `pnpm migrator` runs apps/migrator/bin/migrator.mjs in one node process (tsx registered in it); the profiled run runs src/bin.ts.
  const rss = samplePeakRss(child.pid!, MIGRATOR_PROCESS);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.pipe(log);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const peakRssMiB = rss.stop();
  const ms = performance.now() - started;
  log.end();
  if (code !== 0) throw new Error(`pnpm migrator ${args.join(' ')} exited with ${code} (log: ${logPath})`);
  return { ms, peakRssMiB, stdout };
}

/** Legacy rows per batch (one transaction each) of the measured run: stated, so results say what they measured. */
export const BATCH_SIZE = 10_000;

/** s0 (untimed), then s1 for every tenant (timed). */
export async function runMigratorS1(env: MigratorEnv, asOf: string, logPath: string): Promise<MigratorRun> {
  await pnpmMigrator(['phase', 's0', '--json'], env, logPath);
  // Generated sets reject under 1% of rows per step at 10k+ sessions, but every tenant carries a fixed
  // set of bad rows, so small sets go past the default 1% ceiling; the rate does not change throughput.
  const run = await pnpmMigrator(
    ['phase', 's1', '--all-tenants', '--as-of', asOf, '--max-reject-rate', '0.05', '--batch-size', String(BATCH_SIZE), '--json'],
    env,
    logPath,
  );
  const jsonStart = run.stdout.indexOf('{');
  const summary = JSON.parse(run.stdout.slice(jsonStart)) as { status: string; steps: StepSummary[] };
  return { ms: run.ms, peakRssMiB: run.peakRssMiB, status: summary.status, steps: summary.steps };
}

/** Total duration per step id across tenants: where the time goes. */
export function durationByStep(steps: readonly StepSummary[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const step of steps) out[step.id] = (out[step.id] ?? 0) + step.durationMs;
  return out;
}
