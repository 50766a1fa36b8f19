import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Test support: the migrator CLI as a child process, as production runs it: the build of this test run
 * (apps/migrator/dist-test-<pid>, made by the suite's globalSetup, scripts/test-build.mjs) under plain node.
 */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The migrator build of this test run (its bin.js). */
export function migratorBin(): string {
  const bin = process.env.VC_TEST_MIGRATOR_BIN;
  if (!bin || !existsSync(bin))
    throw new Error(
      `the migrator build of this test run (${bin ?? 'VC_TEST_MIGRATOR_BIN unset'}) is missing: run the tests through vitest.config.ts, whose globalSetup builds it`,
    );
  return bin;
}

/**
 * node's arguments to run `migrator <args>` from the test run's build.
 *
 * `--liftoff-only`: a start on a PGlite target compiles PostgreSQL's WebAssembly anew, and V8 then recompiles its hot
 * functions with its optimising tier in the background, which costs more CPU than a run of a few seconds gets back
 * (user CPU, measured: `status` 3.2 s → 2.2 s, `phase s1 --tenant acme` 6.6 s → 4.4 s, `phase s0` from an empty
 * directory 10.8 s → 7.3 s), and the suite starts the CLI on PGlite a few hundred times. It only chooses which of
 * V8's compilers runs the same WebAssembly; what the migrator does is unchanged. `pnpm demo` (scripts/demo.test.ts)
 * and the terminal tests start it without the flag, as an operator does.
 */
export function migratorArgv(args: readonly string[]): string[] {
  return ['--liftoff-only', migratorBin(), ...args];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** stderr so far (progress lines and logs). */
  stderr(): string;
}

/** Only what the run needs: no VC_* leaks in from the developer's shell. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, VC_LOG_LEVEL: 'warn', ...env };
}

export function startMigrator(args: readonly string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, migratorArgv(args), { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

export function runMigrator(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return startMigrator(args, env).done;
}

/** Runs with `--json` and parses the one object on stdout. */
export async function runMigratorJson<T = Record<string, unknown>>(args: readonly string[], env: Record<string, string>): Promise<CliResult & { json: T }> {
  const result = await runMigrator([...args, '--json'], env);
  let json: T;
  try {
    json = JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`migrator ${args.join(' ')} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`, { cause: error });
  }
  return { ...result, json };
}
