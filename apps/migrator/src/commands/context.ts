import type { DatabaseHandle } from '@vc/schema';
import { loadConfig, type MigratorConfig, type SettingRequirement } from '../config';
import { createServices, type ServiceRegistry } from '../engine/services';
import { createLogger, type Logger } from '../logger';
import { openTarget } from './target';

/** What a command runs with: config, logger, the target database and the lazily created services. */
export interface CommandContext {
  config: MigratorConfig;
  log: Logger;
  handle: DatabaseHandle;
  services: ServiceRegistry;
}

/**
 * Loads config (exit 2 when a variable is bad, or when one of `requires` is unset: before anything is
 * opened), opens the target, runs `fn`, and closes everything however it ends.
 */
export async function withCommandContext<T>(fn: (ctx: CommandContext) => Promise<T>, requires: readonly SettingRequirement[] = []): Promise<T> {
  const config = loadConfig(process.env, requires);
  const log = createLogger(config.VC_LOG_LEVEL);
  const handle = await openTarget(config);
  const services = createServices(config);
  try {
    return await fn({ config, log, handle, services });
  } finally {
    await services.close().catch((error: unknown) => log.warn({ err: (error as Error).message }, 'closing a client failed'));
    await handle.close();
  }
}
