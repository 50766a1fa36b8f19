import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type RequestHandler, Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { series } from './series';

let server: Server;
let base: string;

const mark =
  (name: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.seen = [...((res.locals.seen as string[] | undefined) ?? []), name];
    next();
  };
const reply: RequestHandler = (req, res) => {
  res.json({ seen: res.locals.seen, url: req.url, baseUrl: req.baseUrl });
};

beforeAll(async () => {
  const app = express();
  app.use('/ok', series(mark('a'), mark('b'), reply));
  app.use(
    '/thrown',
    series(
      mark('a'),
      () => {
        throw new Error('thrown');
      },
      reply,
    ),
  );
  app.use(
    '/rejected',
    series(
      mark('a'),
      async () => {
        await Promise.resolve();
        throw new Error('rejected');
      },
      reply,
    ),
  );
  app.use(
    '/next-error',
    series(mark('a'), (_req, _res, next) => next(new Error('passed')), reply),
  );
  // next('router') leaves the router that mounted the series, next('route') goes on to the next handler.
  const inner = Router();
  inner.use(series(mark('a'), (_req, _res, next) => next('router'), reply));
  app.use('/skip', inner, mark('after'), reply);
  app.use(
    '/route',
    series(mark('a'), (_req, _res, next) => next('route'), mark('b'), reply),
  );
  // Past the last handler the series hands on to the next layer.
  app.use('/through', series(mark('a'), mark('b')));
  app.use('/through', reply);
  const problems: ErrorRequestHandler = (error: Error, _req, res, _next) => {
    res.status(500).json({ error: error.message, seen: res.locals.seen });
  };
  app.use(problems);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('series', () => {
  it('runs its handlers in order inside the mount (url trimmed, baseUrl set)', async () => {
    expect(await get('/ok/x?y=1')).toEqual({ status: 200, body: { seen: ['a', 'b'], url: '/x?y=1', baseUrl: '/ok' } });
  });

  it.each([
    ['a thrown error', '/thrown', 'thrown'],
    ['a rejected promise', '/rejected', 'rejected'],
    ['next(error)', '/next-error', 'passed'],
  ])('sends %s to the error handlers and runs no later handler', async (_what, path, message) => {
    expect(await get(path)).toEqual({ status: 500, body: { error: message, seen: ['a'] } });
  });

  it("leaves the router on next('router'), goes on at next('route') and hands on past its last handler, as separate layers would", async () => {
    expect((await get('/skip')).body.seen).toEqual(['a', 'after']);
    expect((await get('/route')).body.seen).toEqual(['a', 'b']);
    expect((await get('/through/z')).body).toEqual({ seen: ['a', 'b'], url: '/z', baseUrl: '/through' });
  });
});
