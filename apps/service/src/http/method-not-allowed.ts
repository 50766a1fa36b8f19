import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import type { AllowedMethods } from './route-match';

/**
 * A path the route table has, asked with a method none of its routes takes: 405 with `Allow` (RFC 9110
 * §15.5.6), not the 404 of a path nobody mounted, so a client can tell a typo in the path from a wrong
 * method. OPTIONS is answered before it, by `optionsReply` (204 with the same `Allow`).
 *
 * Under the API prefix it is mounted after authentication (and the rate limit): without a valid token a
 * caller gets the same 401 whatever the method, so probing methods teaches an unauthenticated caller
 * nothing more than a 401 does. It runs before the idempotency middleware, so a keyed POST to a GET-only
 * path never claims its key.
 */
export function methodNotAllowed(methodsOf: AllowedMethods): RequestHandler {
  return (req, res, next) => {
    // Nearly every request: a route answers its method. Found without building the Allow list.
    if (methodsOf.allows(req.originalUrl, req.method)) {
      next();
      return;
    }
    const methods = methodsOf(req.originalUrl.split('?')[0]!);
    if (methods.length === 0 || methods.includes(req.method)) {
      next();
      return;
    }
    res.set('Allow', methods.join(', '));
    // The method is not echoed: the Allow header says what would do.
    throw new AppError('method_not_allowed', 'this resource does not support the request method; the Allow header lists those it does');
  };
}
