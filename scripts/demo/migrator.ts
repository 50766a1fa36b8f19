import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One `pnpm migrator …` run as an operator types it, in a child process of the real CLI. */
export interface MigratorRun {
  /** The command as an operator would type it (what the demo prints). */
  command: string;
  code: number;
  /** The one JSON object `--json` prints on stdout (docs/design.md §8), when it printed one. */
  json: Record<string, unknown> | undefined;
  /** Where its stderr (progress, logs) went. */
  logFile: string;
}

/** Exit codes of docs/design.md §6. */
export const EXIT = { done: 0, stepFailed: 1, usage: 2, validationFailed: 3 } as const;

export interface MigratorRunner {
  /** Runs `migrator <args>` with exactly `env` as its `VC_*` environment. */
  run(args: readonly string[], env: Readonly<Record<string, string>>): Promise<MigratorRun>;
}

/**
 * Runs the migrator CLI (`apps/migrator/src/bin.ts` under tsx, which is what `pnpm migrator` runs) with
 * exactly the `VC_*` environment given per run: the caller's own `VC_*` variables are not inherited, so a stray
 * setting in the shell cannot point the demo at a real system. Stderr goes to a log file numbered in run order.
 */
export function migratorRunner(root: string, logDir: string): MigratorRunner {
  const bin = join(root, 'apps', 'migrator', 'src', 'bin.ts');
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VC_')));
  let sequence = 0;
  return {
    async run(args, env) {
      sequence += 1;
      const logFile = join(logDir, `${String(sequence).padStart(2, '0')}-migrator-${args.slice(0, 2).join('-')}.log`);
      const log = createWriteStream(logFile);
      const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: root, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.pipe(log);
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
      });
      await new Promise<void>((resolve) => log.end(resolve));
      return { command: displayCommand(args), code, json: singleJsonObject(stdout), logFile };
    },
  };
}

/** The command as an operator types it (what the demo prints). */
export function displayCommand(args: readonly string[]): string {
  return `pnpm migrator ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
}

/** `--json` prints one object when the command ends; anything before it on stdout is not ours to parse. */
export function singleJsonObject(stdout: string): Record<string, unknown> | undefined {
  const start = stdout.indexOf('{');
  if (start < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(stdout.slice(start));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The last lines of a run's log, for a failure the demo did not expect. */
export async function logTail(logFile: string, lines = 15): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
