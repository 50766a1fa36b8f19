import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import { loadConfig } from '../config';
import { AppError } from '../errors';
import { createTokenVerifier } from './authenticate';
import { VerifiedTokenCache } from './token-cache';

let server: Server;
let jwksUrl: string;
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
/** The keys the JWKS endpoint serves; a test may take one away. */
let served: unknown[] = [];
let jwk: Record<string, unknown>;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  served = [jwk];
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: served }));
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

describe('the audience check of an HS256 set-up under the default configuration', () => {
  const secret = 'a'.repeat(32);
  const verifier = () => createTokenVerifier(loadConfig({ VC_AUTH_HS256_SECRET: secret }).auth, { cacheEntries: 0 });
  const hs256 = (audience?: string) => {
    const jwt = new SignJWT({ tenant: 'acme', roles: ['vc:practitioner'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('Practitioner/7')
      .setExpirationTime('5m');
    if (audience !== undefined) jwt.setAudience(audience);
    return jwt.sign(new TextEncoder().encode(secret));
  };

  it('accepts a token for the default audience, virtual-care', async () => {
    await expect(verifier().verify(await hs256(DEFAULT_TOKEN_AUDIENCE))).resolves.toMatchObject({ sub: 'Practitioner/7' });
  });

  it.each([
    ['minted for another API', 'some-other-api'],
    ['without aud', undefined],
  ])('refuses a token %s, signed with the same secret', async (_what, audience) => {
    await expect(verifier().verify(await hs256(audience))).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});

describe('verified tokens kept until their exp', () => {
  const secret = 's'.repeat(32);
  const auth = { jwksUrl: undefined, hs256Secret: secret, issuer: undefined, audience: 'virtual-care', maxTokenLifetimeSeconds: 3600 };
  const hs256 = (claims: Record<string, unknown>, exp: number, iat?: number) => {
    const jwt = new SignJWT({ tenant: 'acme', roles: ['vc:practitioner'], ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('Practitioner/7')
      .setAudience('virtual-care')
      .setExpirationTime(exp);
    if (iat !== undefined) jwt.setIssuedAt(iat);
    return jwt.sign(new TextEncoder().encode(secret));
  };
  const t0 = Math.floor(Date.now() / 1000);

  it('answers a token it verified with the same principal, frozen, without verifying it again', async () => {
    const verifier = createTokenVerifier(auth, { clock: () => t0 * 1000 });
    const token = await hs256({}, t0 + 300, t0);
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(second).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.roles)).toBe(true);
    // With the cache off every request is verified into a principal of its own.
    const uncached = createTokenVerifier(auth, { clock: () => t0 * 1000, cacheEntries: 0 });
    expect(await uncached.verify(token)).not.toBe(await uncached.verify(token));
    expect(await uncached.verify(token)).toEqual(first);
  });

  it('refuses a cached token from its exp on, as jose does (exp <= now is expired)', async () => {
    let now = t0 * 1000;
    const verifier = createTokenVerifier(auth, { clock: () => now });
    const token = await hs256({}, t0 + 120, t0);
    await verifier.verify(token);
    now = (t0 + 119) * 1000 + 999;
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'Practitioner/7' });
    now = (t0 + 120) * 1000;
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated', message: 'the bearer token is invalid, expired or has no exp' });
    // Still refused on the next request: nothing expired is served again.
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('verifies any other token string afresh: a forged signature on a cached payload is refused', async () => {
    const verifier = createTokenVerifier(auth, { clock: () => t0 * 1000 });
    const token = await hs256({}, t0 + 300, t0);
    await verifier.verify(token);
    const [header, payload] = token.split('.');
    const forged = await new SignJWT({ tenant: 'acme', roles: ['vc:practitioner'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('Practitioner/7')
      .setAudience('virtual-care')
      .setIssuedAt(t0)
      .setExpirationTime(t0 + 300)
      .sign(new TextEncoder().encode('x'.repeat(32)));
    await expect(verifier.verify(`${header}.${payload}.${forged.split('.')[2]}`)).rejects.toMatchObject({ code: 'unauthenticated' });
    // Another valid token of the same caller gets its own verification and its own entry.
    const other = await hs256({ roles: ['vc:admin'] }, t0 + 300, t0);
    expect((await verifier.verify(other)).roles).toEqual(['vc:admin']);
    expect((await verifier.verify(token)).roles).toEqual(['vc:practitioner']);
  });

  it('keeps a refused token out: a token without valid claims is refused on every request', async () => {
    const verifier = createTokenVerifier(auth, { clock: () => t0 * 1000 });
    const token = await hs256({ tenant: 'NOT A TENANT' }, t0 + 300, t0);
    for (let i = 0; i < 2; i += 1) await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  // jose's key-set age reads Date.now: move it past cacheMaxAge (10 min) instead of waiting. Verified once, the
  // token is cached under the key set then held; the first request of a process (`again: false`) is verified
  // while no fresh set is held, and its entry must not be served at a later stale moment either, or a removed
  // key would be trusted for as long as no other request makes jose fetch the set again.
  it.each([
    { again: true, case: 'a cached token once the JWKS was fetched again without its key' },
    { again: false, case: 'a token first verified before any key set was fetched, once the set is refetched without its key' },
  ])('refuses $case', async ({ again }) => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const verifier = createTokenVerifier({ jwksUrl, hs256Secret: undefined, issuer: undefined, audience: 'virtual-care', maxTokenLifetimeSeconds: 3600 });
      const token = await new SignJWT({ tenant: 'acme', roles: [] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('Practitioner/7')
        .setAudience('virtual-care')
        .setIssuedAt()
        .setExpirationTime('50m')
        .sign(privateKey);
      await verifier.verify(token);
      served = [];
      // Within the key set's age the cached answer is the one jose itself would give (same keys, no fetch).
      if (again) await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'Practitioner/7' });
      vi.setSystemTime(Date.now() + 11 * 60_000);
      await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'unauthenticated' });
    } finally {
      served = [jwk];
      vi.useRealTimers();
    }
  });
});

describe('VerifiedTokenCache', () => {
  const entry = (generation = 0) => ({ principal: { sub: 'Practitioner/1', tenant: 't', roles: [] }, exp: 1, iat: undefined, generation });

  it('drops the least recently used entry when full', () => {
    const cache = new VerifiedTokenCache(2);
    cache.remember('a', entry());
    cache.remember('b', entry());
    expect(cache.hit('a', 0)).toBeDefined();
    cache.remember('c', entry());
    expect(cache.size).toBe(2);
    expect(cache.hit('b', 0)).toBeUndefined();
    expect(cache.hit('a', 0)).toBeDefined();
    expect(cache.hit('c', 0)).toBeDefined();
  });

  it('serves an entry only under the key-set generation it was verified under, and drops it otherwise', () => {
    const cache = new VerifiedTokenCache(10);
    cache.remember('a', entry(3));
    expect(cache.hit('a', 4)).toBeUndefined();
    expect(cache.hit('a', 3)).toBeUndefined();
  });
});
