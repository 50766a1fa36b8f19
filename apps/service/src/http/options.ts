import type { RequestHandler } from 'express';
import type { AllowedMethods } from './route-match';

/**
 * `OPTIONS` on a path the route table has (RFC 9110 §9.3.7): 204 with `Allow`, the same list a 405 names
 * (the table's methods, HEAD with GET, and OPTIONS), and no body. Express' routers would answer it
 * themselves: 200 with the list as a `text/plain` body and an `Allow` without OPTIONS, which `/openapi.json`
 * could not describe as the other replies. A path the table does not have goes on to the 404.
 *
 * Mounted where `methodNotAllowed` is: under the API prefix after authentication and the rate limit, so
 * without a valid token OPTIONS gets the 401 of any method, and the path's roles are not checked (any
 * caller may learn what the document already says). A CORS preflight from a listed origin never gets here:
 * the CORS layer answers it first (`cors.ts`).
 */
export function optionsReply(methodsOf: AllowedMethods): RequestHandler {
  return (req, res, next) => {
    const methods = req.method === 'OPTIONS' ? methodsOf(req.originalUrl.split('?')[0]!) : [];
    if (methods.length === 0) {
      next();
      return;
    }
    res.set('Allow', methods.join(', '));
    res.status(204).end();
  };
}
