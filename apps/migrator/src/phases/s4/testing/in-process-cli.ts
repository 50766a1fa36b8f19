import { vi } from 'vitest';
import { makeCli } from '../../../cli';
import { exitCodeOf } from '../../../exit-error';

export interface Run {
  code: number;
  stdout: string;
  error?: string;
}

/**
 * `migrator <args>` in process: stdout captured, an expected error turned into its exit code. With `env`, the
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
    const code = exitCodeOf(error);
    if (code !== undefined) return { code, stdout, error: (error as Error).message };
    throw error;
  } finally {
    out.mockRestore();
    if (env) vi.unstubAllEnvs();
  }
}
