import { webcrypto } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { createRemoteJWKSet, type JWKSCacheInput, jwksCache, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ServiceConfig } from '../config';
import { AppError } from '../errors';
import { callerClaimsSchema, hasRole, type Principal, type Role } from './principal';
import { VerifiedTokenCache } from './token-cache';

/** A refused token names the header it came in (RFC 6750's own account of why is `WWW-Authenticate`). */
function tokenRefused(detail: string, cause?: unknown): AppError {
  return new AppError('unauthenticated', detail, {
    cause,
    errors: [{ field: 'header.Authorization', message: 'expected Bearer <jwt>: a valid JWT with exp, within the allowed lifetime' }],
  });
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** The generation of a JWKS past jose's cacheMaxAge (or not fetched yet): never one a cached token is served under. */
const STALE_KEY_SET = -1;

/** Verified caller tokens kept per process (see `VerifiedTokenCache`); 0 turns the cache off. */
export const TOKEN_CACHE_ENTRIES = 10_000;

export interface TokenVerifierOptions {
  /** Most verified tokens kept (default TOKEN_CACHE_ENTRIES; 0: verify every request in full). */
  cacheEntries?: number;
  /** Milliseconds since the epoch; tests move it. jose's `exp`/`nbf` checks read the same clock. */
  clock?: () => number;
}

/**
 * jose verifier over a JWKS URL (production) or an HS256 secret (dev and tests). `aud` is always checked
 * (VC_AUTH_AUDIENCE, default `virtual-care`): an identity provider mints tokens for many APIs with the same
 * keys, and one meant for another of them must not be accepted here. `iss` is checked when set. A token that passed is kept by its exact string until its `exp` (`VerifiedTokenCache`): the next
 * request with it runs the clock checks again but not the signature check or the claim parsing.
 */
export function createTokenVerifier(auth: ServiceConfig['auth'], opts: TokenVerifierOptions = {}): TokenVerifier {
  const clock = opts.clock ?? Date.now;
  const cache = new VerifiedTokenCache(opts.cacheEntries ?? TOKEN_CACHE_ENTRIES);
  // The JWKS set caches the issuer's keys, and the HS256 secret is imported as a WebCrypto key once
  // instead of on every request (as jose does for raw bytes).
  let key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey;
  // Which key set a cached token was verified under. The HS256 secret never changes in a process. A JWKS
  // counts a generation per fetch jose applies (its jwksCache hook is told each one), and a set past jose's
  // cacheMaxAge serves no hit: the full check then refetches it, as it would without the cache.
  let generation: () => number = () => 0;
  if (auth.jwksUrl) {
    let fetched = 0;
    const fetches = {
      jwks: undefined as unknown,
      get uat(): undefined {
        return undefined;
      },
      set uat(_at: number) {
        fetched += 1;
      },
    };
    const remote = createRemoteJWKSet(new URL(auth.jwksUrl), { [jwksCache]: fetches as unknown as JWKSCacheInput });
    key = remote;
    generation = () => (remote.fresh ? fetched : STALE_KEY_SET);
  } else {
    key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(auth.hs256Secret ?? ''), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }
  const algorithms = auth.jwksUrl ? ['RS256', 'ES256', 'PS256', 'EdDSA'] : ['HS256'];
  return {
    async verify(token) {
      const now = clock();
      const nowSeconds = Math.floor(now / 1000);
      const keySet = generation();
      // No hit while the key set is stale: the full check below makes jose fetch it again, as without the cache.
      const hit = keySet === STALE_KEY_SET ? undefined : cache.hit(token, keySet);
      // The checks that depend on the clock, as jose (`exp <= now` is expired) and checkLifetime run them.
      if (hit && nowSeconds < hit.exp && !lifetimeExceeded(hit.exp, hit.iat, auth.maxTokenLifetimeSeconds, nowSeconds)) return hit.principal;
      if (hit) cache.forget(token);
      let payload: JWTPayload;
      // `exp` is required: a token without one would be good forever.
      const options = { issuer: auth.issuer, audience: auth.audience, algorithms, requiredClaims: ['exp'], currentDate: new Date(now) };
      try {
        const verified = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, await key, options);
        payload = verified.payload;
      } catch (error) {
        throw tokenRefused('the bearer token is invalid, expired or has no exp', error);
      }
      checkLifetime(payload, auth.maxTokenLifetimeSeconds, nowSeconds);
      const claims = callerClaimsSchema.safeParse(payload);
      if (!claims.success) {
        const fields = claims.error.issues.map((i) => i.path.join('.')).join(', ');
        throw tokenRefused(`the bearer token lacks valid claims: ${fields}`, claims.error);
      }
      // Shared by every request that brings this token: frozen, so none can change it for the others.
      const principal: Principal = Object.freeze({ ...claims.data, roles: Object.freeze(claims.data.roles) });
      // Kept only under a fresh set that did not change while it was verified: a token verified while the set was
      // stale (the process's first request, or one past cacheMaxAge) was checked against a set fetched by this very
      // call, and an entry kept under "stale" would be served at every later stale moment without a refetch, so a
      // key the issuer removed would go on being trusted.
      if (keySet !== STALE_KEY_SET && generation() === keySet)
        cache.remember(token, { principal, exp: payload.exp!, iat: typeof payload.iat === 'number' ? payload.iat : undefined, generation: keySet });
      return principal;
    },
  };
}

/** Clock skew allowed between the issuer and this service when checking the lifetime. */
const SKEW_SECONDS = 60;

/**
 * A token living longer than the configured maximum (`exp - iat`, or `exp - now` without `iat`) is
 * refused: a stolen long-lived token would outlive any revocation.
 */
function lifetimeExceeded(exp: number, iat: number | undefined, maxSeconds: number, nowSeconds: number): boolean {
  const lifetime = exp - (iat ?? nowSeconds);
  return lifetime > maxSeconds || exp - nowSeconds > maxSeconds + SKEW_SECONDS;
}

function checkLifetime(payload: JWTPayload, maxSeconds: number, nowSeconds: number): void {
  if (lifetimeExceeded(payload.exp!, typeof payload.iat === 'number' ? payload.iat : undefined, maxSeconds, nowSeconds)) {
    throw tokenRefused(`the bearer token lives longer than the allowed ${maxSeconds} s`, new Error('token lifetime exceeds the maximum'));
  }
}

/** RFC 6750 §2.1: `Bearer 1*SP b64token`. The token's own characters are the verifier's to judge (401 invalid_token). */
const BEARER_CREDENTIALS = /^Bearer +([^\s]+)$/i;
const BEARER_SCHEME = /^Bearer(?:\s|$)/i;

/**
 * Verifies `Authorization: Bearer …` and attaches the principal. No credentials, or another scheme's, is a 401
 * with the bare challenge; a Bearer header that is not the scheme and one token (`Bearer`, `Bearer a b`) is
 * RFC 6750 §3.1's `invalid_request`: a 400 naming the header, never repeating it (it may hold a real token).
 */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = BEARER_CREDENTIALS.exec(header);
    if (!match && BEARER_SCHEME.test(header)) {
      // The problem handler adds a challenge to 401s only; this 400 brings its own.
      res.set('WWW-Authenticate', 'Bearer realm="virtual-care", error="invalid_request"');
      throw new AppError('validation_failed', 'the Authorization header is malformed: expected Bearer and one token', {
        errors: [{ field: 'header.Authorization', message: 'expected "Bearer <jwt>": the scheme, a space and one token' }],
      });
    }
    // No cause: the challenge is the bare one (no token was given to call invalid).
    if (!match) throw tokenRefused('expected an Authorization: Bearer <jwt> header');
    res.locals.principal = await verifier.verify(match[1]!);
    next();
  };
}

/** The principal the auth middleware attached (routes run only after it). */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new AppError('unauthenticated', 'no authenticated caller');
  return principal;
}

/** The principal, if it holds one of `roles`; otherwise a 403 problem naming the roles that would do. */
export function requireRole(res: Response, ...roles: Role[]): Principal {
  const principal = principalOf(res);
  if (!hasRole(principal, ...roles)) throw new AppError('forbidden', `this action needs one of the roles ${roles.join(', ')}`);
  return principal;
}
