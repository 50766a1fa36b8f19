import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createLogger, loadConfig, type RunningService, startService } from '../../apps/service/src/index';

export interface DemoService {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts virtual-care-service in this process from the same kind of `VC_*` environment an operator gives
 * `pnpm service` (its config module validates it), on 127.0.0.1 and a free port, logging to a file.
 * PGlite admits one process per data directory: the caller never runs a migrator command meanwhile.
 */
export async function startDemoService(env: Readonly<Record<string, string>>, logDir: string, name: string): Promise<DemoService> {
  // The demo's Jitsi stand-in is plain http on loopback: test-connection may reach it only because this says so.
  const config = loadConfig({
    ...env,
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_LOG_LEVEL: 'info',
    VC_OUTBOUND_ALLOW: '127.0.0.1/32',
    VC_OUTBOUND_ALLOW_HTTP: 'true',
  });
  const log = createWriteStream(join(logDir, `service-${name}.log`), { flags: 'a' });
  let service: RunningService;
  try {
    // A short relay interval: the walk-through waits for the Encounter the relay sends after `end`.
    service = await startService(config, { logger: createLogger(config.logLevel, log) }, { relayOptions: { intervalMs: 100 } });
  } catch (error) {
    log.end();
    throw error;
  }
  return {
    url: service.url,
    async close() {
      await service.close();
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}
