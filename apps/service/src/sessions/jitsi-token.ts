import { createHmac, type KeyObject } from 'node:crypto';
import { buildJitsiClaims, type JitsiClaimsInput } from '@vc/domain/jitsi';
import { jwtVerify } from 'jose';

const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * Signs Jitsi claims with the tenant's app secret (HS256, as prosody's token_auth expects): the secret
 * itself, or the key made from it once (`AppSecretCache.signingKey`). A compact JWS (RFC 7515 §7.1) signed
 * with node:crypto's HMAC in this thread: jose signs through WebCrypto, whose job dispatch per token cost
 * a join more CPU than the signature itself. The tests verify these tokens with jose.
 */
export function signJitsiToken(input: JitsiClaimsInput, appSecret: string | KeyObject): { jwt: string; expiresAt: Date } {
  const { iat, ...claims } = buildJitsiClaims(input);
  const signingInput = `${HS256_HEADER}.${Buffer.from(JSON.stringify({ ...claims, iat })).toString('base64url')}`;
  const signature = createHmac('sha256', appSecret).update(signingInput).digest('base64url');
  return { jwt: `${signingInput}.${signature}`, expiresAt: new Date(claims.exp * 1000) };
}

/** True when `jwt` verifies with the app secret and carries the app id as issuer (test-connection). */
export async function jitsiTokenVerifies(jwt: string, appSecret: string, appId: string): Promise<boolean> {
  try {
    await jwtVerify(jwt, new TextEncoder().encode(appSecret), { algorithms: ['HS256'], issuer: appId, audience: 'jitsi' });
    return true;
  } catch {
    // A token that fails to verify is the answer to the question asked, not an error.
    return false;
  }
}
