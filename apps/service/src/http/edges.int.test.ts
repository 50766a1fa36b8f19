import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { type Harness, practitioner, startHarness } from '../testing/harness';

/**
 * What every reply carries at the edge: the RFC 6750 challenge on 401, CORS headers only for the
 * allow-listed origins (none by default), and a route label on the metrics of replies refused before the
 * route's handler ran.
 */
const API = '/api/v1/virtual-care';
const ALLOWED = 'https://app.example.org';
let plain: Harness;
/** CORS for ALLOWED, and a caller quota of 3 per minute (the tenant quota off). */
let edged: Harness;

beforeAll(async () => {
  [plain, edged] = await Promise.all([
    startHarness({ fhir: false, start: { relay: false } }),
    startHarness({ fhir: false, start: { relay: false }, env: { VC_CORS_ORIGINS: ALLOWED, VC_RATE_LIMIT_CALLER_PER_MIN: '3' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.close(), edged?.close()]);
});

describe('WWW-Authenticate on 401 (RFC 6750 §3)', () => {
  const challenge = async (authorization?: string) => {
    const reply = await plain.call('GET', `${API}/sessions`, authorization === undefined ? {} : { headers: { authorization } });
    expect(reply.status).toBe(401);
    return reply.headers.get('www-authenticate');
  };
  const invalidToken = /^Bearer realm="virtual-care", error="invalid_token", error_description="[^"\\]+"$/;

  it('is the bare challenge without credentials, and without a Bearer token', async () => {
    expect(await challenge()).toBe('Bearer realm="virtual-care"');
    expect(await challenge('Basic dXNlcjpwYXNz')).toBe('Bearer realm="virtual-care"');
  });

  it('says invalid_token for a token that is malformed, forged or expired', async () => {
    const expired = await new SignJWT({ tenant: 'acme', roles: ['vc:admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('Practitioner/1')
      .setIssuedAt(1_700_000_000)
      .setExpirationTime(1_700_000_600)
      .sign(new TextEncoder().encode(randomUUID()));
    for (const token of ['x.y.z', expired]) expect(await challenge(`Bearer ${token}`)).toMatch(invalidToken);
  });

  it.each(['Bearer', 'bearer', 'Bearer a.b.c d.e.f', 'Bearer  a.b  c', 'Bearer\ta.b.c'])(
    'says invalid_request on a 400 naming the header for a malformed Bearer header (%j), never repeating it',
    async (authorization) => {
      const reply = await plain.call<{ type: string; errors: Array<{ field: string }> }>('GET', `${API}/sessions`, { headers: { authorization } });
      expect(reply.status).toBe(400);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="virtual-care", error="invalid_request"');
      expect(reply.body.type).toBe('https://virtual-care.dev/problems/validation-failed');
      expect(reply.body.errors.map((e) => e.field)).toEqual(['header.Authorization']);
      expect(JSON.stringify(reply.body)).not.toContain('a.b');
    },
  );

  it('keeps a well-formed Bearer header with several spaces (RFC 6750: 1*SP) a token to verify', async () => {
    expect(await challenge('Bearer   x.y.z')).toMatch(invalidToken);
  });

  it('is absent from replies that are not 401', async () => {
    const forbidden = await plain.call('PUT', `${API}/config`, { as: practitioner('acme'), body: {} });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toBeNull();
  });
});

describe('CORS allow-list (VC_CORS_ORIGINS)', () => {
  const preflight = (h: Harness, origin: string) =>
    fetch(`${h.url}${API}/sessions`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });
  const get = (h: Harness, origin: string) => h.call('GET', '/healthz', { headers: { origin } });

  it('answers an allowed origin with its CORS headers, preflight included', async () => {
    const simple = await get(edged, ALLOWED);
    expect(simple.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(simple.headers.get('vary')).toMatch(/origin/i);
    expect(simple.headers.get('access-control-expose-headers')?.split(',')).toEqual(
      expect.arrayContaining(['Location', 'Retry-After', 'Idempotent-Replayed', 'ETag']),
    );
    const pre = await preflight(edged, ALLOWED);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')?.split(',')).toEqual(
      expect.arrayContaining(['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match']),
    );
    expect(pre.headers.get('access-control-max-age')).toBe('600');
  });

  it('gives any other origin no CORS header at all, only Vary: Origin for caches', async () => {
    const simple = await get(edged, 'https://evil.example.org');
    for (const reply of [simple, await preflight(edged, 'https://evil.example.org'), await preflight(edged, 'https://app.example.org.evil.example')]) {
      expect([...reply.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
    expect(simple.headers.get('vary')).toMatch(/origin/i);
  });

  it('is off by default: no CORS header even for a would-be allowed origin', async () => {
    for (const reply of [await get(plain, ALLOWED), await preflight(plain, ALLOWED)]) {
      expect([...reply.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
  });
});

describe('metrics route label of refused requests', () => {
  /** The request count of one series of vc_http_request_duration_seconds, 0 when it does not exist. */
  const countOf = async (method: string, route: string, status: number) => {
    const text = (await edged.call<string>('GET', '/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`vc_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  it('labels 400, 401, 404 and 429 with the template of the route asked for; only paths no route has are unmatched', async () => {
    const caller = practitioner('metrics', `p-${randomUUID()}`);
    const sessionById = `${API}/sessions/:id`;
    await edged.call('GET', `${API}/sessions/${randomUUID()}`);
    await edged.call('GET', `${API}/sessions/%ZZ`, { as: caller });
    await edged.call('GET', `${API}/sessions/${randomUUID()}`, { as: caller });
    // The caller's quota is 3 a minute: this is its 3rd and 4th request, the 4th refused.
    const body = { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z' };
    await edged.call('POST', `${API}/sessions`, { as: caller, body });
    expect((await edged.call('POST', `${API}/sessions`, { as: caller, body })).status).toBe(429);
    await edged.call('GET', `${API}/no-such-route`, { as: practitioner('metrics') });

    expect(await countOf('GET', sessionById, 401)).toBe(1);
    expect(await countOf('GET', sessionById, 400)).toBe(1);
    expect(await countOf('GET', sessionById, 404)).toBe(1);
    expect(await countOf('POST', `${API}/sessions`, 429)).toBe(1);
    expect(await countOf('GET', 'unmatched', 404)).toBe(1);
  });
});
