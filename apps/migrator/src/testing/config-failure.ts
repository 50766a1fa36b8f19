import { loadConfig, type SettingRequirement } from '../config';
import { ExitError } from '../exit-error';

/** Test support: the {@link ExitError} `loadConfig` throws for `env` and `requires`; fails the test when it does not throw one. */
export function configFailure(env: NodeJS.ProcessEnv, requires: readonly SettingRequirement[] = []): ExitError {
  try {
    loadConfig(env, requires);
  } catch (error) {
    if (error instanceof ExitError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to fail');
}
