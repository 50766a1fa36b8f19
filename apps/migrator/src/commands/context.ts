import type { DatabaseHandle } from '@vc/schema';
import { loadConfig, type MigratorConfig } from '../config';
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

/** Loads config (exit 2 when bad), opens the target, runs `fn`, and closes everything however it ends. */
export async function withCommandContext<T>(fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const config = loadConfig();
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
