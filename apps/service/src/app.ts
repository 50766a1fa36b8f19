import express, { type Express } from 'express';
import helmet from 'helmet';
import { authenticate, createTokenVerifier } from './auth/authenticate';
import type { AppContext } from './context';
import type { ServiceDeps } from './deps';
import { docsAssets, docsRoutes } from './docs/routes';
import { healthRoutes } from './health/routes';
import { jsonBody } from './http/body';
import { corsAllowList } from './http/cors';
import { notFoundHandler, problemHandler, requireJsonBody } from './http/problem';
import type { RouteGroup } from './http/route-table';
import { methodNotAllowed } from './http/method-not-allowed';
import { optionsReply } from './http/options';
import { allowedMethods, type RouteMatcher, routeMatcher } from './http/route-match';
import { routerOf } from './http/router';
import { rateLimit } from './http/rate-limit';
import { series } from './http/series';
import { requestLogging } from './http/request-log';
import { requireHost } from './http/require-host';
import { requireBoundedBody } from './http/validate';
import { idempotency } from './idempotency/middleware';
import { createMetrics, rememberMount } from './metrics';
import { buildOpenApi } from './openapi';
import { countPending } from './outbox/repo';
import { createOutboxWriter } from './outbox/write';
import { sessionRoutes } from './sessions/routes';
import { TenantConfigCache } from './tenant-config/cache';
import { AppSecretCache } from './tenant-config/credentials';
import { tenantConfigRoutes } from './tenant-config/routes';

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
  // Filled once the route table is built below (from this very context); the metrics read it per request.
  const routeTable: { match?: RouteMatcher } = {};
  const context: AppContext = {
    ...deps,
    outbox: createOutboxWriter(deps.config.mode),
    verifier: createTokenVerifier(deps.config.auth),
    metrics: createMetrics(
      () => countPending(deps.db),
      (path, method) => routeTable.match?.(path, method),
    ),
    secrets: new AppSecretCache(deps.kms),
    tenantConfigs: new TenantConfigCache(),
  };
  let draining = false;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Express would tag every reply with a body (POSTs, problems); GET routes tag their own successes (`routerOf`).
  app.set('etag', false);
  // What every request passes, as one layer (see `series`).
  app.use(
    series(
      helmet(),
      // Browser apps on other origins: only those VC_CORS_ORIGINS names (none by default: no CORS headers).
      ...(deps.config.corsOrigins.length > 0 ? [corsAllowList(deps.config.corsOrigins)] : []),
      requestLogging(deps.logger),
      context.metrics.middleware,
      // After the request log and metrics, which record the refusal too; before any route reads a body.
      requireHost,
    ),
  );

  // The route table, in one visible list: public operational routes at the root, the API behind auth.
  const publicRoutes: RouteGroup = { mount: '', routes: [...healthRoutes(context, { draining: () => draining }), ...docsRoutes(() => openapi)] };
  const apiRoutes: RouteGroup = { mount: API_BASE, routes: [...sessionRoutes(context), ...tenantConfigRoutes(context)] };
  // Read by the /openapi.json handler at request time, after this line has run.
  const openapi = buildOpenApi([publicRoutes, apiRoutes], API_BASE);
  routeTable.match = routeMatcher([publicRoutes, apiRoutes]);
  const allowed = allowedMethods([publicRoutes, apiRoutes]);
  const wrongMethod = methodNotAllowed(allowed);
  const options = optionsReply(allowed);

  // The API first: its prefix check is one comparison, while the public router would match every API
  // request against each of its routes first. Their paths do not overlap, so the order changes nothing else.
  app.use(
    API_BASE,
    series(
      rememberMount,
      requireJsonBody,
      jsonBody(BODY_LIMIT),
      requireBoundedBody,
      authenticate(context.verifier),
      rateLimit(deps.config.rateLimit),
      options,
      wrongMethod,
      idempotency(context),
      routerOf(apiRoutes.routes),
    ),
  );
  // OPTIONS before the public router, which would answer it its own way (see `optionsReply`).
  app.use(options, routerOf(publicRoutes.routes), docsAssets());

  // The public routes' wrong methods (the API's were answered behind its authentication, above).
  app.use(wrongMethod);
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger, routeTable.match));
  return { app, context, setDraining: (d) => (draining = d) };
}
