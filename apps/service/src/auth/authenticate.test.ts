import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { AppError } from '../errors';
import { createTokenVerifier } from './authenticate';

let server: Server;
let jwksUrl: string;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const sign = (claims: Record<string, unknown>, issuer = 'https://idp.test', audience = 'virtual-care') =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('Practitioner/7')
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime('5m')
    .sign(privateKey);

describe('createTokenVerifier with a JWKS URL', () => {
  const verifier = () =>
    createTokenVerifier({ jwksUrl, hs256Secret: undefined, issuer: 'https://idp.test', audience: 'virtual-care', maxTokenLifetimeSeconds: 3600 });

  it('accepts a token signed by a key of the JWKS with the configured issuer and audience, keeping known roles only', async () => {
    const principal = await verifier().verify(await sign({ tenant: 'acme', roles: ['vc:practitioner', 'other:role'] }));
    expect(principal).toEqual({ sub: 'Practitioner/7', tenant: 'acme', roles: ['vc:practitioner'] });
  });

  it.each([
    ['another issuer', () => sign({ tenant: 'acme', roles: [] }, 'https://evil.test')],
    ['another audience', () => sign({ tenant: 'acme', roles: [] }, 'https://idp.test', 'someone-else')],
    ['no tenant claim', () => sign({ roles: ['vc:admin'] })],
    [
      'no exp',
      () =>
        new SignJWT({ tenant: 'acme', roles: [] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('Practitioner/7')
          .setIssuer('https://idp.test')
          .setAudience('virtual-care')
          .setIssuedAt()
          .sign(privateKey),
    ],
    [
      'an exp years away',
      () =>
        new SignJWT({ tenant: 'acme', roles: [] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('Practitioner/7')
          .setIssuer('https://idp.test')
          .setAudience('virtual-care')
          .setIssuedAt()
          .setExpirationTime('5y')
          .sign(privateKey),
    ],
    [
      'a 2 h lifetime (iat 2 h before exp)',
      () =>
        new SignJWT({ tenant: 'acme', roles: [] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('Practitioner/7')
          .setIssuer('https://idp.test')
          .setAudience('virtual-care')
          .setIssuedAt('-90m')
          .setExpirationTime('30m')
          .sign(privateKey),
    ],
  ])('refuses a token with %s as unauthenticated', async (_what, token) => {
    const error = await verifier()
      .verify(await token())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('unauthenticated');
  });

  it('refuses an HS256 token when the service trusts a JWKS (no algorithm confusion)', async () => {
    const hs = await new SignJWT({ tenant: 'acme', roles: ['vc:admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('Practitioner/7')
      .setIssuer('https://idp.test')
      .setAudience('virtual-care')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expect(verifier().verify(hs)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
