import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS for the browser apps of the listed origins only. The `cors` package, given an allow-list, still
 * sends `Access-Control-Expose-Headers` to every other origin (harmless to a browser, but it tells any
 * caller what this API exposes); here another origin gets no CORS header at all, only `Vary: Origin`, so
 * a shared cache never hands one origin's reply to another.
 */
export function corsAllowList(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  const handle = cors({
    origin: true,
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match'],
    exposedHeaders: ['Location', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'Idempotent-Replayed', 'ETag'],
    maxAge: 600,
  });
  return (req, res, next) => {
    if (allowed.has(req.headers.origin ?? '')) {
      handle(req, res, next);
      return;
    }
    res.vary('Origin');
    next();
  };
}
