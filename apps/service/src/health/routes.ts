import { sql } from 'drizzle-orm';
import { Router } from 'express';
import type { AppContext } from '../context';

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type CheckState = 'ok' | 'down' | 'not_configured';

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
export function healthRouter(ctx: AppContext, state: { draining: () => boolean }): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [database, nats] = await Promise.all([
      check(() => ctx.db.execute(sql`select 1`), 'database'),
      // ensureStream is idempotent and needs a live JetStream: the cheapest honest probe the interface offers.
      check(ctx.eventStream ? () => ctx.eventStream!.ensureStream() : undefined, 'nats'),
    ]);
    const ready = !state.draining() && database === 'ok' && nats !== 'down';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', draining: state.draining(), checks: { database, nats }, mode: ctx.config.mode });
  });
  return router;
}
