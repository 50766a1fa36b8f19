import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger';
import { problemHandler } from './problem';
import { rateLimit } from './rate-limit';

/** The limiter between a stand-in authentication (which attaches the caller) and the real problem handler. */
let server: ReturnType<express.Express['listen']>;
let url: string;

beforeAll(async () => {
  const app = express();
  app.use((req, res, next) => {
    res.locals.principal = { tenant: req.get('x-tenant'), sub: req.get('x-sub'), roles: [] };
    next();
  });
  app.use(rateLimit({ tenantPerMinute: 5, callerPerMinute: 3 }));
  app.get('/', (_req, res) => void res.json({ ok: true }));
  app.use(problemHandler(createLogger('silent')));
  await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = (tenant: string, sub: string) => fetch(url, { headers: { 'x-tenant': tenant, 'x-sub': sub } });

describe('rate limits', () => {
  it('answers 429 problem+json with RateLimit, RateLimit-Policy and Retry-After once a caller used its quota', async () => {
    const ok = await get('t1', 'Practitioner/a');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-policy')).toBe('"tenant";q=5;w=60, "caller";q=3;w=60');
    expect(ok.headers.get('ratelimit')).toMatch(/^"caller";r=2;t=\d+$/);
    await get('t1', 'Practitioner/a');
    await get('t1', 'Practitioner/a');
    const limited = await get('t1', 'Practitioner/a');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/^"caller";r=0;t=\d+$/);
    expect(await limited.json()).toMatchObject({ status: 429, type: 'https://virtual-care.dev/problems/rate-limited', limit: 'caller' });
  });

  it('limits the tenant as a whole across its callers, and no other tenant', async () => {
    expect((await get('t2', 'Practitioner/a')).status).toBe(200);
    expect((await get('t2', 'Practitioner/b')).status).toBe(200);
    expect((await get('t2', 'Practitioner/c')).status).toBe(200);
    expect((await get('t2', 'Practitioner/d')).status).toBe(200);
    expect((await get('t2', 'Practitioner/e')).status).toBe(200);
    const limited = await get('t2', 'Practitioner/f');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ limit: 'tenant' });
    expect((await get('t3', 'Practitioner/f')).status).toBe(200);
  });
});
