import { ConfigError, loadConfig } from './config';
import { SERVICE_HELP, wantsHelp } from './help';
import { safeError } from './log-safe';
import { startService } from './server';

/** `pnpm service`: the only place that calls process.exit (config.ts reads the environment). */
async function main(): Promise<void> {
  if (wantsHelp(process.argv.slice(2))) {
    process.stdout.write(SERVICE_HELP);
    process.exit(0);
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const service = await startService(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    service.deps.logger.info({ signal }, 'shutting down: draining requests and the outbox relay');
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        service.deps.logger.error({ err: safeError(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('virtual-care-service failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
