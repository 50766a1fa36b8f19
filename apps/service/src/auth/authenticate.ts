import { webcrypto } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { createRemoteJWKSet, type JWTPayload, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ServiceConfig } from '../config';
import { AppError } from '../errors';
import { callerClaimsSchema, hasRole, type Principal, type Role } from './principal';

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

/** jose verifier over a JWKS URL (production) or an HS256 secret (dev and tests), with issuer/audience when set. */
export function createTokenVerifier(auth: ServiceConfig['auth']): TokenVerifier {
  // Keys are verified once, tokens every time: the JWKS set caches the issuer's keys, and the HS256
  // secret is imported as a WebCrypto key once instead of on every request (as jose does for raw bytes).
  const key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl))
    : webcrypto.subtle.importKey('raw', new TextEncoder().encode(auth.hs256Secret ?? ''), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const algorithms = auth.jwksUrl ? ['RS256', 'ES256', 'PS256', 'EdDSA'] : ['HS256'];
  return {
    async verify(token) {
      let payload: JWTPayload;
      // `exp` is required: a token without one would be good forever.
      const options = { issuer: auth.issuer, audience: auth.audience, algorithms, requiredClaims: ['exp'] };
      try {
        const verified = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, await key, options);
        payload = verified.payload;
      } catch (error) {
        throw tokenRefused('the bearer token is invalid, expired or has no exp', error);
      }
      checkLifetime(payload, auth.maxTokenLifetimeSeconds, Math.floor(Date.now() / 1000));
      const claims = callerClaimsSchema.safeParse(payload);
      if (!claims.success) {
        const fields = claims.error.issues.map((i) => i.path.join('.')).join(', ');
        throw tokenRefused(`the bearer token lacks valid claims: ${fields}`, claims.error);
      }
      return claims.data;
    },
  };
}

/** Clock skew allowed between the issuer and this service when checking the lifetime. */
const SKEW_SECONDS = 60;

/**
 * A token living longer than the configured maximum (`exp - iat`, or `exp - now` without `iat`) is
 * refused: a stolen long-lived token would outlive any revocation.
 */
function checkLifetime(payload: JWTPayload, maxSeconds: number, nowSeconds: number): void {
  const exp = payload.exp!;
  const lifetime = exp - (typeof payload.iat === 'number' ? payload.iat : nowSeconds);
  if (lifetime > maxSeconds || exp - nowSeconds > maxSeconds + SKEW_SECONDS) {
    throw tokenRefused(`the bearer token lives longer than the allowed ${maxSeconds} s`, new Error('token lifetime exceeds the maximum'));
  }
}

/** Verifies `Authorization: Bearer …` and attaches the principal; no token is a 401 problem. */
export function authenticate(verifier: TokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
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
