import { vi } from 'vitest';
import { makeCli } from '../../../cli';
import { ExitError } from '../../../exit-error';

export interface Run {
  code: number;
  stdout: string;
  error?: string;
}

/**
 * `migrator <args>` in process: stdout captured, an ExitError turned into its exit code. With `env`, the
 * run sees those variables (stubbed for the run only); without, the process environment as it is.
 */
export async function runInProcess(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<Run> {
  for (const [name, value] of Object.entries(env ?? {})) vi.stubEnv(name, value);
  const argv = ['node', 'migrator', ...args];
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  try {
    await (await makeCli(argv)).parseAsync(argv);
    return { code: 0, stdout };
  } catch (error) {
    if (error instanceof ExitError) return { code: error.exitCode, stdout, error: error.message };
    throw error;
  } finally {
    out.mockRestore();
    if (env) vi.unstubAllEnvs();
  }
}
