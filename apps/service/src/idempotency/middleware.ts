import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { principalOf } from '../auth/authenticate';
import type { AppContext } from '../context';
import type { Executor } from '../db';
import { AppError } from '../errors';
import { safeError } from '../log-safe';
import { claimKey, type IdempotencyScope, releaseKey, storeReply } from './repo';

const KEY_PATTERN = /^[A-Za-z0-9_\-:.]{1,200}$/;

/** What makes two requests "the same" for a key: method, path and JSON body (depth-bounded upstream). */
export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([method, path, body ?? null]))
    .digest('hex');
}

interface Claim {
  scope: IdempotencyScope;
  /** Set once the reply was stored in the effect's transaction: the response then only sends it. */
  storedInTx: boolean;
}

const claimOf = (res: Response): Claim | undefined => res.locals.idempotencyClaim as Claim | undefined;

/**
 * Stores the reply of a keyed request inside the transaction of its effect, so "created" and "the reply
 * says created" commit together: a crash after the commit replays the reply instead of creating twice.
 * A no-op for requests without a key. Handlers whose effect is one transaction call this from it.
 */
export async function storeReplyInTx(res: Response, tx: Executor, status: number, body: unknown, headers?: Record<string, string>): Promise<void> {
  const claim = claimOf(res);
  if (!claim) return;
  await storeReply(tx, claim.scope, status, body, replayedHeaders(headers ?? {}));
  claim.storedInTx = true;
}

/**
 * Headers the OpenAPI document promises on a reply that say something about its result (`Location` of a
 * created session), so a replay carries them too. Rate-limit headers are about the request that gets them:
 * the limiter sets them afresh on the replay. Not `ETag`: no POST reply has one (only GET successes and
 * PUT /config), though replies stored while Express tagged every reply hold one.
 */
const REPLAYED_HEADERS = ['location'] as const;

function replayedHeaders(headers: Record<string, unknown>): Record<string, string> {
  const lower = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return Object.fromEntries(REPLAYED_HEADERS.flatMap((name) => (typeof lower.get(name) === 'string' ? [[name, lower.get(name) as string]] : [])));
}

/** A keyed request's claim, for an effect written as one statement that stores the reply itself. */
export interface ReplyClaim {
  scope: IdempotencyScope;
  /** Call once the statement that stored the reply has committed. */
  stored(): void;
}

/** The claim of this request, or undefined when it carries no Idempotency-Key. */
export function replyClaimOf(res: Response): ReplyClaim | undefined {
  const claim = claimOf(res);
  if (!claim) return undefined;
  return { scope: claim.scope, stored: () => (claim.storedInTx = true) };
}

/**
 * `Idempotency-Key` on POSTs: the first request with a key runs and its reply (status, JSON body and the
 * {@link REPLAYED_HEADERS}) is stored per (tenant, caller, key); the same key with the same request
 * replays that reply; the same key with another request is a 422. Keys are scoped per caller, so one
 * caller cannot replay another's reply. Keys live 24 h.
 */
export function idempotency(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (req.method !== 'POST' || key === undefined) {
      next();
      return;
    }
    if (!KEY_PATTERN.test(key)) {
      throw new AppError('validation_failed', 'invalid header Idempotency-Key', {
        errors: [{ field: 'header.Idempotency-Key', message: 'expected 1-200 characters of [A-Za-z0-9_-:.]' }],
      });
    }
    const principal = principalOf(res);
    const scope: IdempotencyScope = { tenantId: principal.tenant, principal: principal.sub, key };
    const hash = requestHash(req.method, req.originalUrl.split('?')[0]!, req.body);
    const existing = await claimKey(ctx.db, scope, hash, ctx.now(), ctx.config.idempotencyClaimTimeoutMs);
    if (existing) {
      if (existing.requestHash !== hash) throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
      if (existing.responseStatus === null)
        throw new AppError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed; retry later');
      res.set('Idempotent-Replayed', 'true');
      if (existing.responseHeaders) res.set(replayedHeaders(existing.responseHeaders));
      if (existing.responseStatus >= 400) res.type('application/problem+json');
      res.status(existing.responseStatus).json(existing.responseBody);
      return;
    }
    const claim: Claim = { scope, storedInTx: false };
    res.locals.idempotencyClaim = claim;
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      if (claim.storedInTx) {
        // Test hook (VC_TEST_CRASH_BEFORE_REPLY): die between the commit and the reply, as a crash would.
        if (ctx.config.testCrashBeforeReply) process.kill(process.pid, 'SIGKILL');
        return send(body);
      }
      // Requests without a transactional effect (refusals, reads): stored before sent, so a retry racing
      // the first reply sees it or "in progress", never nothing.
      const status = res.statusCode;
      const persisted =
        status >= 500
          ? releaseKey(ctx.db, scope)
          : storeReply(ctx.db, scope, status, body, replayedHeaders(res.getHeaders())).catch((error: unknown) => {
              // A reply that cannot be stored must not leave the claim "in progress": every retry would be
              // a 409 until the claim times out. Released, the retry runs the request again, as after a 5xx.
              ctx.logger.error({ err: safeError(error) }, 'storing the idempotent reply failed; the key is released');
              return releaseKey(ctx.db, scope);
            });
      persisted.then(
        () => send(body),
        (error: unknown) => {
          ctx.logger.error({ err: safeError(error) }, 'releasing the idempotency key failed');
          send(body);
        },
      );
      return res;
    };
    next();
  };
}
