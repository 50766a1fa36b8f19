import express, { type Express, type Router } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { authenticate, createTokenVerifier } from './auth/authenticate';
import type { AppContext } from './context';
import type { ServiceDeps } from './deps';
import { healthRouter } from './health/routes';
import { notFoundHandler, problemHandler, requireJsonBody } from './http/problem';
import { idempotency } from './idempotency/middleware';
import { createMetrics } from './metrics';
import { buildOpenApi } from './openapi';
import { countPending } from './outbox/repo';
import { createOutboxWriter } from './outbox/write';
import { sessionsRouter } from './sessions/routes';
import { AppSecretCache } from './tenant-config/credentials';
import { tenantConfigRouter } from './tenant-config/routes';

export const API_BASE = '/api/v1/virtual-care';

/** Request bodies here are small JSON objects; anything bigger is a mistake or an attack. */
export const BODY_LIMIT = '32kb';

export interface CreatedApp {
  app: Express;
  context: AppContext;
  /** Flip to make `/readyz` answer 503 while the server drains. */
  setDraining(draining: boolean): void;
}

/** Builds the Express app over injected deps; no listening, no background work (see startService). */
export function createApp(deps: ServiceDeps): CreatedApp {
  const context: AppContext = {
    ...deps,
    outbox: createOutboxWriter(deps.config.mode),
    verifier: createTokenVerifier(deps.config.auth),
    metrics: createMetrics(() => countPending(deps.db)),
    secrets: new AppSecretCache(deps.kms),
  };
  let draining = false;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());
  app.use(
    pinoHttp({
      logger: deps.logger,
      // The URL's query may carry patient refs (GET /sessions?patientRef=…): log the path only.
      serializers: {
        req: (req: { method: string; url: string; id: unknown }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
    }),
  );
  app.use(context.metrics.middleware);

  app.use(healthRouter(context, { draining: () => draining }));
  app.get('/metrics', async (_req, res) => {
    res.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics());
  });
  const openapi = buildOpenApi(API_BASE);
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  // Every API area, in one visible list.
  const routers: Router[] = [sessionsRouter(context), tenantConfigRouter(context)];
  app.use(API_BASE, requireJsonBody, express.json({ limit: BODY_LIMIT, type: ['application/json', 'application/*+json'] }), authenticate(context.verifier), idempotency(context), ...routers);

  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return { app, context, setDraining: (d) => (draining = d) };
}
