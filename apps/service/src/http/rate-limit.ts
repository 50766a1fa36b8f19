import type { RequestHandler, Response } from 'express';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { principalOf } from '../auth/authenticate';
import type { ServiceConfig } from '../config';
import { AppError } from '../errors';

const WINDOW_SECONDS = 60;

interface Limit {
  name: 'tenant' | 'caller';
  quota: number;
  limiter: RateLimiterMemory;
  key: (tenant: string, sub: string) => string;
}

/**
 * Per-tenant and per-caller request quotas (fixed one-minute windows, in this process's memory: with N
 * instances behind a balancer the effective quota is up to N times this). Replies carry the IETF
 * `RateLimit-Policy` / `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers) of the tightest limit;
 * an exhausted one is a 429 problem with `Retry-After`. Mounted after authentication.
 */
export function rateLimit(config: ServiceConfig['rateLimit']): RequestHandler {
  const limits: Limit[] = [
    { name: 'tenant' as const, quota: config.tenantPerMinute, key: (tenant: string) => tenant },
    { name: 'caller' as const, quota: config.callerPerMinute, key: (tenant: string, sub: string) => `${tenant}\u0000${sub}` },
  ]
    .filter((l) => l.quota > 0)
    .map((l) => ({ ...l, limiter: new RateLimiterMemory({ points: l.quota, duration: WINDOW_SECONDS }) }));
  if (limits.length === 0) return (_req, _res, next) => next();
  const policy = limits.map((l) => `"${l.name}";q=${l.quota};w=${WINDOW_SECONDS}`).join(', ');
  return async (_req, res, next) => {
    const principal = principalOf(res);
    res.set('RateLimit-Policy', policy);
    let tightest: { limit: Limit; state: RateLimiterRes } | undefined;
    for (const limit of limits) {
      try {
        const state = await limit.limiter.consume(limit.key(principal.tenant, principal.sub));
        if (!tightest || state.remainingPoints < tightest.state.remainingPoints) tightest = { limit, state };
      } catch (rejected) {
        if (!(rejected instanceof RateLimiterRes)) throw rejected;
        setRateLimit(res, limit, rejected);
        const retryAfter = Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
        res.set('Retry-After', String(retryAfter));
        throw new AppError('rate_limited', `the ${limit.name} quota of ${limit.quota} requests per ${WINDOW_SECONDS} s is used up; retry in ${retryAfter} s`, {
          extensions: { limit: limit.name, retryAfterSeconds: retryAfter },
        });
      }
    }
    if (tightest) setRateLimit(res, tightest.limit, tightest.state);
    next();
  };
}

function setRateLimit(res: Response, limit: Limit, state: RateLimiterRes): void {
  res.set('RateLimit', `"${limit.name}";r=${Math.max(0, state.remainingPoints)};t=${Math.ceil(state.msBeforeNext / 1000)}`);
}
