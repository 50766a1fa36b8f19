import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { CONNECTION_TEST_ROOM, mintTestToken } from './jitsi-token';

const now = new Date('2026-05-01T10:00:00.000Z');
const input = { appId: 'acme-app', serverUrl: 'https://meet.acme.test', appSecret: 'a-secret-of-sufficient-length', now };

describe('mintTestToken', () => {
  it('mints a Jitsi JWT for the connection-test room that its own verifier accepts', async () => {
    const { token, verify } = await mintTestToken(input);
    expect(decodeJwt(token)).toMatchObject({ iss: 'acme-app', aud: 'jitsi', sub: 'meet.acme.test', room: CONNECTION_TEST_ROOM });
    expect(await verify(token)).toBe(true);
  });
  it('rejects a token signed with another secret', async () => {
    const { verify } = await mintTestToken(input);
    const other = await mintTestToken({ ...input, appSecret: 'another-secret-entirely-here' });
    expect(await verify(other.token)).toBe(false);
  });
  it('rejects a token for another app id', async () => {
    const { verify } = await mintTestToken(input);
    const other = await mintTestToken({ ...input, appId: 'other-app' });
    expect(await verify(other.token)).toBe(false);
  });
});
