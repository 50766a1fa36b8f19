import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one app instance (its own registry, so several can run in one process). */
export interface Metrics {
  registry: Registry;
  outboxRelayed: Counter<'kind' | 'outcome'>;
  middleware: RequestHandler;
}

export function createMetrics(pendingOutbox: () => Promise<number>): Metrics {
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
    help: 'Outbox rows relayed, by kind (event, fhir_encounter) and outcome (published, failed)',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, outboxRelayed, middleware };
}
