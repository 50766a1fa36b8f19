import type { RequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * RFC 9112 §3.2: a 400 for an HTTP/1.1 request without a Host header field, and for any request with more
 * than one. Node's own check (`requireHostHeader`, turned off where the server is created) answers the
 * first with a bare status line and lets the second through; this one is the problem+json of every other
 * refusal. HTTP/1.0 had no Host and may still omit it. Mounted before authentication and before any body
 * is read, with `Connection: close` as the parser's refusals: what follows on the connection is not trusted.
 */
export const requireHost: RequestHandler = (req, res, next) => {
  // Node keeps only the first Host in `headers`; the raw list (name, value, name, value…) has them all.
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts += 1;
  const http11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  if (hosts === 1 || (hosts === 0 && !http11)) {
    next();
    return;
  }
  res.set('Connection', 'close');
  // The header's value is never echoed: only how many there were.
  throw hosts === 0
    ? new AppError('bad_request', 'an HTTP/1.1 request must carry a Host header', { errors: [{ field: 'header.Host', message: 'required on HTTP/1.1' }] })
    : new AppError('bad_request', 'a request must carry one Host header, not several', { errors: [{ field: 'header.Host', message: 'expected exactly one' }] });
};
