import { createHmac } from 'node:crypto';

/** A caller of the service API (docs/design.md §8 caller tokens). */
export interface Caller {
  sub: string;
  tenant: string;
  roles: string[];
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * Signs an HS256 JWT (RFC 7519) for `caller`, as the dev/test identity provider would. The service verifies
 * it with `VC_AUTH_HS256_SECRET`; production uses `VC_AUTH_JWKS_URL` and the platform's real tokens.
 */
export function signCallerToken(caller: Caller, secret: string, now: Date, ttlSeconds = 600): string {
  const iat = Math.floor(now.getTime() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  // `aud`: the service checks it (VC_AUTH_AUDIENCE), and the demo runs it with the default.
  const payload = base64url(JSON.stringify({ ...caller, aud: 'virtual-care', iat, exp: iat + ttlSeconds }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${base64url(signature)}`;
}
