import { createHmac, type KeyObject } from 'node:crypto';
import { buildJitsiClaims, DEFAULT_JITSI_AUDIENCE, type JitsiClaimsInput } from '@vc/domain/jitsi';
import { errors, jwtVerify } from 'jose';

/** The room a connection test asks for by default: fixed, so it never collides with a real session's room. */
export const CONNECTION_TEST_ROOM = 'vc-connection-test';

const key = (appSecret: string) => new TextEncoder().encode(appSecret);

const HS256_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

/**
 * Signs Jitsi claims with the tenant's app secret (HS256, as prosody's token_auth expects): the secret
 * itself, or a key made from it once (the service caches one per tenant). A compact JWS (RFC 7515 §7.1)
 * signed with node:crypto's HMAC in this thread: jose signs through WebCrypto, whose job dispatch per token
 * cost a join more CPU than the signature itself (bench/RESULTS.md). jose verifies these tokens.
 */
export function signJitsiToken(input: JitsiClaimsInput, appSecret: string | KeyObject): { jwt: string; expiresAt: Date } {
  const { iat, ...claims } = buildJitsiClaims(input);
  const signingInput = `${HS256_HEADER}.${Buffer.from(JSON.stringify({ ...claims, iat })).toString('base64url')}`;
  const signature = createHmac('sha256', appSecret).update(signingInput).digest('base64url');
  return { jwt: `${signingInput}.${signature}`, expiresAt: new Date(claims.exp * 1000) };
}

/**
 * True when `jwt` verifies with the app secret, names the app id as issuer and Jitsi as audience, and is
 * valid at `now` (default: the clock). Only a token that fails to verify is `false`; anything else throws.
 */
export async function verifyJitsiToken(jwt: string, appSecret: string, expected: { appId: string; audience?: string; now?: Date }): Promise<boolean> {
  try {
    await jwtVerify(jwt, key(appSecret), {
      algorithms: ['HS256'],
      issuer: expected.appId,
      audience: expected.audience ?? DEFAULT_JITSI_AUDIENCE,
      ...(expected.now ? { currentDate: expected.now } : {}),
    });
    return true;
  } catch (error) {
    // A token that does not verify is the answer the probe asks for, not a failure of ours.
    if (error instanceof errors.JOSEError) return false;
    throw error;
  }
}

/** Input of {@link mintConnectionTestToken}: the tenant's Jitsi settings and who is testing. */
export interface ConnectionTestTokenInput {
  appId: string;
  serverUrl: string;
  appSecret: string;
  now: Date;
  user: { id: string; name: string };
  room?: string;
  ttlSeconds?: number;
}

/**
 * The token test-connection presents and the verifier the probe calls to prove it is what Jitsi would
 * accept (the service's `POST /config/test-connection` and the migrator's step 2.2 both use it).
 */
export async function mintConnectionTestToken(input: ConnectionTestTokenInput): Promise<{ token: string; verify: (token: string) => Promise<boolean> }> {
  const { jwt } = signJitsiToken(
    {
      appId: input.appId,
      serverUrl: input.serverUrl,
      room: input.room ?? CONNECTION_TEST_ROOM,
      user: { ...input.user, moderator: false },
      now: input.now,
      ...(input.ttlSeconds ? { ttlSeconds: input.ttlSeconds } : {}),
    },
    input.appSecret,
  );
  return { token: jwt, verify: (candidate) => verifyJitsiToken(candidate, input.appSecret, { appId: input.appId, now: input.now }) };
}
