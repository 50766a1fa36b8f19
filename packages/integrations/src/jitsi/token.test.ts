import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { CONNECTION_TEST_ROOM, mintConnectionTestToken, signJitsiToken, verifyJitsiToken } from './token';

const now = new Date('2026-05-01T10:00:00.000Z');
const input = {
  appId: 'acme-app',
  serverUrl: 'https://meet.acme.test',
  appSecret: 'a-secret-of-sufficient-length',
  now,
  user: { id: 'migrator', name: 'migrator connection test' },
};

describe('mintConnectionTestToken', () => {
  it('mints a Jitsi JWT for the connection-test room that its own verifier accepts', async () => {
    const { token, verify } = await mintConnectionTestToken(input);
    expect(decodeJwt(token)).toMatchObject({ iss: 'acme-app', aud: 'jitsi', sub: 'meet.acme.test', room: CONNECTION_TEST_ROOM });
    expect(await verify(token)).toBe(true);
  });
  it('rejects a token signed with another secret', async () => {
    const { verify } = await mintConnectionTestToken(input);
    const other = await mintConnectionTestToken({ ...input, appSecret: 'another-secret-entirely-here' });
    expect(await verify(other.token)).toBe(false);
  });
  it('rejects a token for another app id', async () => {
    const { verify } = await mintConnectionTestToken(input);
    const other = await mintConnectionTestToken({ ...input, appId: 'other-app' });
    expect(await verify(other.token)).toBe(false);
  });
});

describe('signJitsiToken and verifyJitsiToken', () => {
  const claims = {
    appId: 'acme-app',
    serverUrl: 'https://meet.acme.test',
    room: 'room-1',
    user: { id: 'p1', name: 'Clinician', moderator: true },
    now,
    ttlSeconds: 300,
  };

  it('signs a join token that expires after its time to live and verifies at the time it was minted', async () => {
    const { jwt, expiresAt } = signJitsiToken(claims, input.appSecret);
    expect(expiresAt.toISOString()).toBe('2026-05-01T10:05:00.000Z');
    expect(decodeJwt(jwt)).toMatchObject({ iat: now.getTime() / 1000, room: 'room-1', context: { user: { id: 'p1', moderator: 'true' } } });
    expect(await verifyJitsiToken(jwt, input.appSecret, { appId: 'acme-app', now })).toBe(true);
  });
  it('answers false for an expired token and for one that is not a JWT at all', async () => {
    const { jwt } = signJitsiToken(claims, input.appSecret);
    expect(await verifyJitsiToken(jwt, input.appSecret, { appId: 'acme-app', now: new Date('2026-05-01T10:06:00.000Z') })).toBe(false);
    expect(await verifyJitsiToken('not.a.jwt', input.appSecret, { appId: 'acme-app', now })).toBe(false);
  });
});
