import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context';
import { defineRoute, replySchemas, type Route } from '../http/route-table';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const CHECK_STATES = ['ok', 'down', 'not_configured'] as const;
type CheckState = (typeof CHECK_STATES)[number];

const healthReply = z.object({ status: z.literal('ok') }).register(replySchemas, { id: 'Health' });
const readinessReply = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    draining: z.boolean(),
    checks: z.object({ database: z.enum(CHECK_STATES), nats: z.enum(CHECK_STATES) }),
    mode: z.enum(['live', 'shadow']),
  })
  .register(replySchemas, { id: 'Readiness' });

async function check(run: (() => Promise<unknown>) | undefined, what: string): Promise<CheckState> {
  if (!run) return 'not_configured';
  try {
    await withTimeout(run(), what);
    return 'ok';
  } catch {
    return 'down';
  }
}

/** `/healthz` (the process answers) and `/readyz` (PostgreSQL and NATS answer); no auth, no PHI. */
export function healthRoutes(ctx: AppContext, state: { draining: () => boolean }): Route[] {
  return [
    defineRoute({
      operationId: 'getHealth',
      method: 'get',
      path: '/healthz',
      tag: 'operations',
      summary: 'Liveness: the process answers',
      roles: 'public',
      replies: { 200: { description: 'alive', schema: healthReply } },
      handle: () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      operationId: 'getReadiness',
      method: 'get',
      path: '/readyz',
      tag: 'operations',
      summary: 'Readiness: PostgreSQL and NATS answer, and the server is not draining',
      roles: 'public',
      replies: {
        200: { description: 'ready', schema: readinessReply },
        503: { description: 'not ready (draining, or a dependency is down)', schema: readinessReply },
      },
      async handle() {
        const [database, nats] = await Promise.all([
          check(() => ctx.db.execute(sql`select 1`), 'database'),
          // ensureStream is idempotent and needs a live JetStream: the cheapest honest probe the interface offers.
          check(ctx.eventStream ? () => ctx.eventStream!.ensureStream() : undefined, 'nats'),
        ]);
        const ready = !state.draining() && database === 'ok' && nats !== 'down';
        return {
          status: ready ? 200 : 503,
          body: { status: ready ? 'ready' : 'not_ready', draining: state.draining(), checks: { database, nats }, mode: ctx.config.mode },
        };
      },
    }),
    defineRoute({
      operationId: 'getMetrics',
      method: 'get',
      path: '/metrics',
      tag: 'operations',
      summary: 'Prometheus metrics (text exposition format)',
      roles: 'public',
      replies: { 200: { description: 'the metrics', type: 'text/plain' } },
      async handle() {
        return { status: 200, type: ctx.metrics.registry.contentType, body: await ctx.metrics.registry.metrics() };
      },
    }),
  ];
}
