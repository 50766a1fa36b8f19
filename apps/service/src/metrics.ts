import type { Request, RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RouteMatcher } from './http/route-match';

/** Prometheus metrics of one app instance (its own registry, so several can run in one process). */
export interface Metrics {
  registry: Registry;
  outboxRelayed: Counter<'kind' | 'outcome'>;
  middleware: RequestHandler;
}

/**
 * The route template of a request, with its mount prefix. Express restores `req.baseUrl` when a request
 * leaves a router, so on an error reply (handled by the app-level problem handler) the prefix is gone by
 * `finish`; `rememberMount`, run inside the mount, keeps it in `res.locals`. A request refused before its
 * router ran (401 by auth, 429 by the rate limit, 415 by the body parser) has no `req.route`: the route
 * table still names the route it asked for, so its replies land on the same series as the route's others.
 * `unmatched` is left for paths no route has.
 */
export function routeLabel(req: Request, matchRoute?: RouteMatcher): string {
  if (!req.route?.path) return matchRoute?.(req.originalUrl.split('?')[0]!, req.method)?.template ?? 'unmatched';
  const mount = (req.res?.locals as { mountPath?: string } | undefined)?.mountPath ?? req.baseUrl;
  return `${mount}${String(req.route.path)}`;
}

/** Mounted first under a prefix (`app.use(prefix, rememberMount, …routers)`). */
export const rememberMount: RequestHandler = (req, res, next) => {
  res.locals.mountPath = req.baseUrl;
  next();
};

export function createMetrics(pendingOutbox: () => Promise<number>, matchRoute?: RouteMatcher): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'vc_outbox_pending',
    help: 'Outbox rows not yet delivered (events waiting for NATS, Encounters waiting for FHIR); read at scrape time',
    registers: [registry],
    async collect() {
      this.set(await pendingOutbox());
    },
  });
  const duration = new Histogram({
    name: 'vc_http_request_duration_seconds',
    help: 'HTTP request duration by route template (never the raw path, which carries ids)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const outboxRelayed = new Counter({
    name: 'vc_outbox_relayed_total',
    help: 'Outbox rows relayed, by kind (event, fhir_encounter) and outcome (published, failed: rescheduled, refused: parked for an operator)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      end({ method: req.method, route: routeLabel(req, matchRoute), status: String(res.statusCode) });
    });
    next();
  };
  return { registry, outboxRelayed, middleware };
}
