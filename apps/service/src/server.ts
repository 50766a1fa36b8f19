import { createServer, type Server, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccessPolicyClient } from '@vc/integrations/access-policy';
import { createFhirClient } from '@vc/integrations/fhir';
import { createJitsiProbe } from '@vc/integrations/jitsi';
import { createKms } from '@vc/integrations/kms';
import { connectEventStream } from '@vc/integrations/nats';
import { createDatabase, type DatabaseHandle, migrate } from '@vc/schema';
import { createApp } from './app';
import type { ServiceConfig } from './config';
import type { ServiceDeps } from './deps';
import { clientErrorHandler } from './http/client-error';
import { purgeExpiredKeys } from './idempotency/repo';
import { safeError } from './log-safe';
import { createLogger } from './logger';
import { OutboxRelay, type RelayOptions } from './outbox/relay';

export interface StartOptions {
  /** Listen host; default `config.listenHost` (VC_LISTEN_HOST). */
  host?: string;
  /** Run the outbox relay in this process (default true in live mode; never in shadow mode). */
  relay?: boolean;
  /** Relay tuning (tests shorten the backoff). */
  relayOptions?: Pick<RelayOptions, 'batchSize' | 'intervalMs' | 'leaseMs' | 'backoff'>;
  /** Apply schema migrations at start (default: only for PGlite, the embedded default; PostgreSQL is S0's job). */
  migrate?: boolean;
  /**
   * Node's request timeouts (default Node's: 300 s for a request, 60 s for its headers, checked every 30 s).
   * Only tests set them, to see the 408 of a request that never completes without waiting a minute.
   */
  timeouts?: Pick<ServerOptions, 'requestTimeout' | 'headersTimeout' | 'connectionsCheckingInterval'>;
}

export interface RunningService {
  url: string;
  port: number;
  deps: ServiceDeps;
  relay: OutboxRelay | undefined;
  server: Server;
  /** Graceful shutdown: stop accepting, drain in-flight requests and the relay, close what we opened. */
  close(): Promise<void>;
}

/** Opens from the config whatever the caller did not inject; returns the closers of what it opened. */
async function resolveDeps(
  config: Readonly<ServiceConfig>,
  given: Partial<ServiceDeps>,
  options: StartOptions,
): Promise<{ deps: ServiceDeps; closers: Array<() => Promise<void>> }> {
  const closers: Array<() => Promise<void>> = [];
  const logger = given.logger ?? createLogger(config.logLevel);
  let db = given.db;
  if (!db) {
    const handle: DatabaseHandle = await createDatabase(config.databaseUrl, { max: config.databasePoolMax });
    closers.push(() => handle.close());
    if (options.migrate ?? handle.kind === 'pglite') await migrate(handle);
    db = handle.db;
  }
  let eventStream = given.eventStream;
  if (!eventStream && config.natsUrl && !('eventStream' in given)) {
    eventStream = await connectEventStream({
      url: config.natsUrl,
      stream: config.natsStream,
      subjects: [`${config.natsSubjectPrefix}virtual_care.>`],
      // The default duplicate window (EVENT_DUPLICATE_WINDOW_MS) outlasts the relay's lease; `migrator phase s0` keeps it.
    });
    await eventStream.ensureStream();
    const opened = eventStream;
    closers.push(() => opened.close());
  }
  const deps: ServiceDeps = {
    config,
    db,
    kms: given.kms ?? (await createKms(config.kms, { aws: config.kmsAws })),
    accessPolicy:
      'accessPolicy' in given ? given.accessPolicy : config.accessPolicyUrl ? createAccessPolicyClient({ baseUrl: config.accessPolicyUrl }) : undefined,
    jitsiProbe: given.jitsiProbe ?? createJitsiProbe({ policy: config.outbound }),
    eventStream,
    fhir: 'fhir' in given ? given.fhir : config.fhirBaseUrl ? createFhirClient({ baseUrl: config.fhirBaseUrl }) : undefined,
    logger,
    now: given.now ?? (() => new Date()),
  };
  return { deps, closers };
}

/** Idempotency keys older than 24 h are deleted this often (and at start); several instances may all run it. */
const PURGE_INTERVAL_MS = 10 * 60_000;

function startIdempotencyPurge(deps: ServiceDeps): NodeJS.Timeout {
  const purge = () => {
    purgeExpiredKeys(deps.db, deps.now()).then(
      (count) => count > 0 && deps.logger.info({ count }, 'purged expired idempotency keys'),
      (error: unknown) => deps.logger.warn({ err: safeError(error) }, 'purging idempotency keys failed; retrying later'),
    );
  };
  purge();
  const timer = setInterval(purge, PURGE_INTERVAL_MS);
  timer.unref();
  return timer;
}

/**
 * Starts the service: resolves deps (injected ones win; the rest come from the config), listens on
 * `config.port` (0 = a free port), and runs the outbox relay unless in shadow mode. Used by `bin.ts`,
 * by the tests and by `pnpm demo` (in-process, with stand-ins injected).
 */
export async function startService(config: Readonly<ServiceConfig>, given: Partial<ServiceDeps> = {}, options: StartOptions = {}): Promise<RunningService> {
  const { deps, closers } = await resolveDeps(config, given, options);
  const { app, context, setDraining } = createApp(deps);
  const relayWanted = (options.relay ?? true) && config.mode === 'live';
  const relay = relayWanted
    ? new OutboxRelay({
        db: deps.db,
        eventStream: deps.eventStream,
        fhir: deps.fhir,
        logger: deps.logger,
        metrics: context.metrics,
        now: deps.now,
        subjectPrefix: config.natsSubjectPrefix,
        ...options.relayOptions,
      })
    : undefined;
  // Host is checked by the app (requireHost), which answers a problem+json where Node's check answers a
  // bare 400.
  const server = createServer({ requireHostHeader: false, ...options.timeouts }, app);
  // Before listening: what the HTTP parser refuses gets a problem+json too, from the first connection on.
  server.on('clientError', clientErrorHandler(deps.logger));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, options.host ?? config.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  relay?.start();
  const purge = startIdempotencyPurge(deps);
  const { port } = server.address() as AddressInfo;
  deps.logger.info(
    { port, mode: config.mode, relay: Boolean(relay), nats: Boolean(deps.eventStream), fhir: Boolean(deps.fhir) },
    'virtual-care-service listening',
  );
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    deps,
    relay,
    server,
    close() {
      closing ??= (async () => {
        setDraining(true);
        clearInterval(purge);
        // close() waits for in-flight requests; keep-alive sockets that turn idle after their last reply
        // would hold it open, so they are closed as they go idle.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        const reaper = setInterval(() => server.closeIdleConnections(), 100);
        server.closeIdleConnections();
        try {
          await Promise.all([closed, relay?.stop()]);
        } finally {
          clearInterval(reaper);
        }
        for (const close of closers.reverse()) await close();
      })();
      return closing;
    },
  };
}
