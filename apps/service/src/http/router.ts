import { type Request, type Response, Router } from 'express';
import { requireRole } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { Route, RouteReply } from './route-table';
import { replyClaimOf, storeReplyInTx } from '../idempotency/middleware';
import { parse } from './validate';

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
      send(res, reply);
    });
  }
  return router;
}

function send(res: Response, reply: RouteReply): void {
  res.status(reply.status);
  if (reply.headers) res.set(reply.headers);
  if (reply.type) res.type(reply.type).send(reply.body);
  // With an Idempotency-Key the reply is recorded through `res.json`: it gets the value, as any other.
  else if (reply.json !== undefined) {
    if (replyClaimOf(res)) res.json(JSON.parse(reply.json));
    else res.type('json').send(reply.json);
  } else if (reply.body === undefined) res.end();
  else res.json(reply.body);
}
