import { buildJitsiClaims } from '@vc/domain/jitsi';
import { jwtVerify, SignJWT } from 'jose';

/** The room a connection test asks for: fixed, so it never collides with a real session's room. */
export const CONNECTION_TEST_ROOM = 'vc-connection-test';

/**
 * Mints the Jitsi JWT a connection test presents (HS256 with the tenant's app secret, as prosody's
 * token_auth expects), and the verifier the probe calls to prove the token is what Jitsi would accept.
 */
export async function mintTestToken(input: { appId: string; serverUrl: string; appSecret: string; now: Date }): Promise<{ token: string; verify: (token: string) => Promise<boolean> }> {
  const key = new TextEncoder().encode(input.appSecret);
  const claims = buildJitsiClaims({
    appId: input.appId,
    serverUrl: input.serverUrl,
    room: CONNECTION_TEST_ROOM,
    user: { id: 'migrator', name: 'migrator connection test', moderator: false },
    now: input.now,
    ttlSeconds: 120,
  });
  const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
  const verify = async (candidate: string): Promise<boolean> => {
    try {
      await jwtVerify(candidate, key, { algorithms: ['HS256'], issuer: claims.iss, audience: claims.aud, currentDate: input.now });
      return true;
    } catch (error) {
      // A token that does not verify is the answer the probe asks for, not a failure of ours.
      if (error instanceof Error && error.name.startsWith('JW')) return false;
      throw error;
    }
  };
  return { token, verify };
}
