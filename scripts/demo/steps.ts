import { relative } from 'node:path';
import { displayCommand, EXIT, logTail, type MigratorRun, type MigratorRunner } from './migrator';
import type { PhaseSummary } from './phase-results';

/** Progress lines on stdout: the demo's own output is the story of the run. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A step of the walk-through that did not go as the fixtures call for; the message says what and where. */
export class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/**
 * Runs one migrator command, prints it as typed, and fails the demo unless its exit code is one of
 * `allowed`. An unexpected failure prints the end of its log (which names tenant, step and cause).
 */
export async function runStep(
  migrator: MigratorRunner,
  env: Readonly<Record<string, string>>,
  root: string,
  label: string,
  args: readonly string[],
  allowed: readonly number[] = [EXIT.done],
): Promise<MigratorRun> {
  const started = Date.now();
  say(`\n▸ ${label}\n  $ ${displayCommand(args)}`);
  const run = await migrator.run(args, env);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (!allowed.includes(run.code)) {
    say(`  ✗ exit ${run.code} after ${seconds} s; last lines of ${relative(root, run.logFile)}:`);
    say((await logTail(run.logFile)).replace(/^/gm, '    '));
    throw new DemoFailure(`${run.command} exited ${run.code}, expected ${allowed.join(' or ')}`);
  }
  say(`  exit ${run.code} (${seconds} s)`);
  return run;
}

/**
 * A phase run for all tenants may fail only where the fixtures are broken on purpose: every error must
 * belong to a broken tenant, and every healthy tenant's steps must be done (or already done).
 */
export function checkOnlyBrokenFailed(summary: PhaseSummary, brokenTenants: readonly string[]): void {
  const unexpected = (summary.errors ?? []).filter((e) => !brokenTenants.includes(e.tenant));
  const unfinished = summary.steps.filter((s) => !brokenTenants.includes(s.tenant) && s.status !== 'done' && s.status !== 'skipped');
  if (unexpected.length > 0 || unfinished.length > 0) {
    const what = [...unexpected.map((e) => `${e.tenant} ${e.step}: ${e.message}`), ...unfinished.map((s) => `${s.tenant} ${s.id} ${s.status}`)];
    throw new DemoFailure(`phase ${summary.phase} did not finish for a healthy tenant: ${what.join('; ')}`);
  }
  for (const e of summary.errors ?? []) say(`  expected: ${e.tenant} stops at ${e.step} (broken on purpose): ${e.message}`);
}
