import { webcrypto } from 'node:crypto';
import { buildJitsiClaims, type JitsiClaimsInput } from '@vc/domain/jitsi';
import { jwtVerify, SignJWT } from 'jose';

/**
 * Signs Jitsi claims with the tenant's app secret (HS256, as prosody's token_auth expects): the secret
 * itself, or the HMAC key imported from it once (`AppSecretCache.signingKey`).
 */
export async function signJitsiToken(input: JitsiClaimsInput, appSecret: string | webcrypto.CryptoKey): Promise<{ jwt: string; expiresAt: Date }> {
  const { iat, ...claims } = buildJitsiClaims(input);
  const key = typeof appSecret === 'string' ? new TextEncoder().encode(appSecret) : appSecret;
  const jwt = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(iat).sign(key);
  return { jwt, expiresAt: new Date(claims.exp * 1000) };
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
