import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Middlewares run one after another as ONE Express layer, as `app.use(path, a, b, c)` would run them as
 * three: each gets `next`, a thrown error or a rejected promise goes to the error handlers
 * (`next(error)`), `next('router')` leaves the router that mounted the series and `next('route')` goes on
 * to the next handler, as between separate layers.
 * Express' router re-matches the mount path, trims and restores `req.url` and re-parses it for every layer
 * it walks; the API's nine handlers, and the three that every request passes, cost that once each way.
 */
export function series(...handlers: RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, done: NextFunction) => {
    let index = 0;
    const next = (error?: unknown): void => {
      // 'route' skips only the rest of a route's own handlers: between `use` layers it is a plain next().
      if (error && error !== 'route') {
        done(error);
        return;
      }
      const handler = handlers[index++];
      if (!handler) {
        done();
        return;
      }
      try {
        const returned: unknown = handler(req, res, next);
        // As Express 5 treats a handler's promise: a rejection is the request's error.
        if (returned instanceof Promise) returned.then(undefined, (rejected: unknown) => next(rejected ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}
