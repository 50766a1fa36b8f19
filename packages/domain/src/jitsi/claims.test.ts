import { describe, expect, it } from 'vitest';
import { buildJitsiClaims, jitsiJoinUrl, jitsiSubject, roomNameForSession } from './claims';
import { decodeJitsiCredentials, encodeJitsiCredentials, jitsiCredentialsContext } from './credentials';

const now = new Date('2026-03-01T10:00:00.000Z');
const epoch = now.getTime() / 1000;
const clinician = { id: 'Practitioner/1', name: 'Clinician', moderator: true };

describe('buildJitsiClaims', () => {
  it('follows the Jitsi token spec: iss = app id, aud jitsi, sub = domain, room, nbf/exp, context.user as strings', () => {
    const claims = buildJitsiClaims({
      appId: 'acme-app',
      serverUrl: 'https://meet.acme.test/',
      room: 'vc-abc',
      user: clinician,
      now,
      ttlSeconds: 120,
    });
    expect(claims).toEqual({
      iss: 'acme-app',
      aud: 'jitsi',
      sub: 'meet.acme.test',
      room: 'vc-abc',
      iat: epoch,
      nbf: epoch - 10,
      exp: epoch + 120,
      context: { user: { id: 'Practitioner/1', name: 'Clinician', moderator: 'true' } },
    });
  });

  it('names the Jitsi tenant in sub when the server URL has a path (conference at https://host/TENANT/ROOM)', () => {
    const claims = buildJitsiClaims({ appId: 'a', serverUrl: 'https://meet.acme.test/Acme-Clinic/', room: 'vc-1', user: clinician, now });
    expect(claims.sub).toBe('acme-clinic');
    expect(jitsiJoinUrl('https://meet.acme.test/Acme-Clinic/', 'vc-1', 'a.b.c')).toBe('https://meet.acme.test/Acme-Clinic/vc-1?jwt=a.b.c');
  });

  it.each([
    ['https://Meet.Acme.test', 'meet.acme.test'],
    ['https://meet.acme.test:8443/', 'meet.acme.test'],
    ['https://meet.acme.test/acme', 'acme'],
    ['https://meet.acme.test//acme//', 'acme'],
    ['https://meet.acme.test/Acme%20Clinic/', 'acme clinic'],
    ['https://meet.acme.test/100%/', '100%'],
    ['https://meet.acme.test/first/second/', 'first'],
  ])('jitsiSubject(%s) is %s', (serverUrl, sub) => {
    expect(jitsiSubject(serverUrl)).toBe(sub);
  });

  it('gives patients moderator "false" and a five-minute token by default', () => {
    const claims = buildJitsiClaims({ appId: 'a', serverUrl: 'https://m.test', room: 'r', user: { id: 'Patient/9', name: 'Patient', moderator: false }, now });
    expect(claims.context.user.moderator).toBe('false');
    expect(claims.exp - claims.iat).toBe(300);
  });
});

describe('room and join URL', () => {
  it('derives the room from the session id without dashes', () => {
    expect(roomNameForSession('0b8e6f2c-1111-4222-8333-944445555666')).toBe('vc-0b8e6f2c111142228333944445555666');
  });

  it('appends the room to the server path and carries the token as ?jwt=', () => {
    expect(jitsiJoinUrl('https://meet.acme.test/tenant/', 'vc-1', 'a.b.c')).toBe('https://meet.acme.test/tenant/vc-1?jwt=a.b.c');
  });
});

describe('credentials', () => {
  it('round-trips the legacy {"appSecret"} shape and binds the context to tenant and purpose', () => {
    expect(decodeJitsiCredentials(encodeJitsiCredentials({ appSecret: 's3cret' }))).toEqual({ appSecret: 's3cret' });
    expect(jitsiCredentialsContext('acme')).toEqual({ tenantId: 'acme', purpose: 'jitsi-credentials' });
  });

  it('refuses plaintext without an appSecret and never echoes it', () => {
    expect(() => decodeJitsiCredentials('{"other":"leak-me"}')).toThrow(/no appSecret/);
    expect(() => decodeJitsiCredentials('leak-me')).toThrow(/not JSON/);
    expect(() => decodeJitsiCredentials('leak-me')).not.toThrow(/leak-me/);
  });
});
