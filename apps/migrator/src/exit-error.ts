import { PgliteInUseError } from '@vc/schema';
import { StepFailed, UsageError } from './engine/errors';

/**
 * Exit codes (docs/design.md §6): 0 done; 1 a step failed (state kept, resumable); 2 bad usage or config;
 * 3 validation failed. Commands throw this; only `bin.ts` turns it into `process.exit`.
 */
export type ExitCode = 0 | 1 | 2 | 3;

export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The exit code of what a command threw: the engine's kinds mapped here, in the command layer, and
 * `undefined` for an error nobody anticipated (exit 1, printed with its stack).
 */
export function exitCodeOf(error: unknown): ExitCode | undefined {
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof UsageError) return 2;
  // The environment's fault, like a server it cannot reach: nothing was opened, nothing changed.
  if (error instanceof PgliteInUseError) return 2;
  if (error instanceof StepFailed) return 1;
  return undefined;
}
