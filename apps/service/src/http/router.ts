import { hash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { requireRole } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { Route, RouteReply } from './route-table';
import { replyClaimOf, storeReplyInTx } from '../idempotency/middleware';
import { parse } from './validate';

/** What `res.type('json')` sets, without its MIME lookup per reply. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The Express router of a route table. Per request: the role check (403 before anything is parsed), then
 * params, query and body through the route's zod schemas (400 naming the field), then the handler; its
 * reply is written as JSON (through `res.json`, which the idempotency middleware records) or as `type`.
 */
export function routerOf(routes: readonly Route[]): Router {
  const router = Router();
  for (const route of routes) {
    router[route.method](route.path, async (req: Request, res: Response) => {
      const principal = route.roles === 'public' ? (undefined as unknown as Principal) : requireRole(res, ...route.roles);
      const params = route.params ? parse(route.params, req.params, 'params') : undefined;
      const query = route.query ? parse(route.query, req.query, 'query') : undefined;
      const body = route.body ? parse(route.body, req.body, 'body') : undefined;
      const reply = await route.handle({
        principal,
        params,
        query,
        body,
        header: (name) => req.get(name),
        baseUrl: req.baseUrl,
        storeReplyInTx: (tx, status, sent, headers) => storeReplyInTx(res, tx, status, sent, headers),
        replyClaim: () => replyClaimOf(res),
      });
      send(res, reply, route.method === 'get');
    });
  }
  return router;
}

/**
 * Writes the reply. `conditional` (GET routes, and the HEADs Express routes to them): a success gets a weak
 * `ETag` of its body unless the route set its own, and `res.send` then answers a matching `If-None-Match`
 * with 304. The app turns Express's own ETag off (`createApp`), which tagged every reply with a body, POSTs
 * and problems included, where `/openapi.json` declares none.
 */
function send(res: Response, reply: RouteReply, conditional: boolean): void {
  res.status(reply.status);
  if (reply.headers) res.set(reply.headers);
  if (reply.type === undefined && reply.json === undefined && reply.body === undefined) {
    res.end();
    return;
  }
  // With an Idempotency-Key the reply is recorded through `res.json`: it gets the value, as any other.
  // (Only POSTs are keyed, so these replies are never conditional.)
  if (reply.type === undefined && replyClaimOf(res)) {
    res.json(reply.json !== undefined ? JSON.parse(reply.json) : reply.body);
    return;
  }
  const body: string | Buffer = reply.type !== undefined ? ((reply.body ?? '') as string | Buffer) : (reply.json ?? JSON.stringify(reply.body));
  if (reply.type === undefined) res.setHeader('Content-Type', JSON_TYPE);
  else res.type(reply.type);
  if (conditional && reply.status >= 200 && reply.status < 300 && !res.get('ETag')) res.set('ETag', weakETag(body));
  res.send(body);
}

/** The weak ETag Express gave replies (its `etag` package: byte length in hex, and SHA-1), so tags clients hold still match. */
export function weakETag(body: string | Buffer): string {
  // One-shot hash of the string itself (UTF-8): no Buffer copy of the body, no Hash object per reply.
  const length = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  return `W/"${length.toString(16)}-${hash('sha1', body, 'base64').slice(0, 27)}"`;
}
