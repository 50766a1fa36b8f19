import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { principalOf } from '../auth/authenticate';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { claimKey, type IdempotencyScope, releaseKey, storeReply } from './repo';

const KEY_PATTERN = /^[A-Za-z0-9_\-:.]{1,200}$/;

/** What makes two requests "the same" for a key: method, path and JSON body. */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, body ?? null])).digest('hex');
}

/**
 * `Idempotency-Key` on POSTs: the first request with a key runs and its reply (status and JSON body) is
 * stored per (tenant, caller, key); the same key with the same request replays that reply; the same key
 * with another request is a 422. Keys are scoped per caller, so one caller cannot replay another's reply.
 */
export function idempotency(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined) {
      next();
      return;
    }
    if (!KEY_PATTERN.test(key)) {
      throw new AppError('validation_failed', 'invalid header Idempotency-Key', { errors: [{ field: 'header.Idempotency-Key', message: 'expected 1-200 characters of [A-Za-z0-9_-:.]' }] });
    }
    const principal = principalOf(res);
    const scope: IdempotencyScope = { tenantId: principal.tenant, principal: principal.sub, key };
    const hash = requestHash(req.method, req.originalUrl.split('?')[0]!, req.body);
    const existing = await claimKey(ctx.db, scope, hash, ctx.now());
    if (existing) {
      if (existing.requestHash !== hash) throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
      if (existing.responseStatus === null) throw new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed; retry later');
      res.set('Idempotent-Replayed', 'true');
      if (existing.responseStatus >= 400) res.type('application/problem+json');
      res.status(existing.responseStatus).json(existing.responseBody);
      return;
    }
    const send = res.json.bind(res);
    // The reply is stored before it is sent: a retry racing the first reply sees it or "in progress", never nothing.
    res.json = (body: unknown) => {
      const status = res.statusCode;
      const persisted = status >= 500 ? releaseKey(ctx.db, scope) : storeReply(ctx.db, scope, status, body);
      persisted.then(
        () => send(body),
        (error: unknown) => {
          ctx.logger.error({ err: error }, 'storing the idempotent reply failed');
          send(body);
        },
      );
      return res;
    };
    next();
  };
}
