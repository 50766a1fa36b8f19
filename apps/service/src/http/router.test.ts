import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRoute } from './route-table';
import { routerOf, weakETag } from './router';

let server: Server;
let base: string;
/** What a stand-in for the idempotency middleware's `res.json` was handed, per request. */
const recorded: unknown[] = [];

const TEXT = '{"id":"s-1","note":"caf\u00e9 \\"q\\"","n":[1,2]}';

beforeAll(async () => {
  const app = express();
  // As createApp: the ETag is the router's to set, not Express's.
  app.set('etag', false);
  app.use('/keyed', (_req, res, next) => {
    // As the idempotency middleware does for a request with a key: a claim, and res.json recording the body.
    res.locals.idempotencyClaim = { scope: { tenantId: 't', principal: 'p', key: 'k' }, storedInTx: false };
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      recorded.push(body);
      return send(body);
    };
    next();
  });
  const routes = [
    defineRoute({
      operationId: 'pre',
      method: 'get',
      path: '/',
      tag: 'operations',
      summary: 'pre-serialized',
      roles: 'public',
      replies: {},
      handle: () => ({ status: 200, json: TEXT }),
    }),
  ];
  app.use('/plain', routerOf(routes));
  app.use('/keyed', routerOf(routes));
  await new Promise<void>((resolve) => (server = app.listen(0, '127.0.0.1', () => resolve())));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('a reply already serialized as JSON (RouteReply.json)', () => {
  it('is sent as it is, with the headers res.json would give it', async () => {
    const res = await fetch(`${base}/plain/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('etag')).toBe(weakETag(TEXT));
    expect(await res.text()).toBe(TEXT);
  });

  it('goes through res.json as a value when an Idempotency-Key claim records the reply', async () => {
    const res = await fetch(`${base}/keyed/`);
    expect(res.status).toBe(200);
    expect(recorded).toEqual([JSON.parse(TEXT)]);
    expect(await res.json()).toEqual(JSON.parse(TEXT));
  });
});

describe('weakETag', () => {
  it("is the tag Express's etag package gives (byte length in hex, SHA-1 in base64), so tags clients hold still match", () => {
    expect(weakETag('')).toBe('W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"');
    expect(weakETag('caf\u00e9')).toBe(weakETag(Buffer.from('caf\u00e9', 'utf8')));
    // Express's own dependency, as Express called it before the app turned its ETag off.
    const etag = createRequire(createRequire(import.meta.url).resolve('express'))('etag') as (body: string, o: { weak: boolean }) => string;
    expect(weakETag(TEXT)).toBe(etag(TEXT, { weak: true }));
  });
});
