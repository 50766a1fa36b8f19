import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, configureTenant, type Harness, practitioner, scheduleSession, startHarness } from '../testing/harness';

/**
 * Text PostgreSQL cannot store unchanged (a lone UTF-16 surrogate, which JSON allows as `"\ud800"`) is a 400
 * naming the field on real PostgreSQL: jsonb would refuse it (a 500), text would hold U+FFFD instead (a 201
 * whose stored value differs from what was sent). And no problem quotes what the client sent.
 */
const API = '/api/v1/virtual-care';
const tenant = 'storable';
let h: Harness;
let sessionId: string;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, tenant);
  sessionId = await scheduleSession(h, tenant);
});
afterAll(async () => {
  await h?.close();
});

interface ProblemBody {
  status: number;
  detail: string;
  errors?: Array<{ field: string; message: string }>;
}

/** Sends `body` as written: `\ud800` in it reaches the server as a JSON escape of a lone surrogate. */
const send = (method: string, path: string, as: ReturnType<typeof admin>, body: string) => h.call<ProblemBody>(method, `${API}${path}`, { as, body });

function expectRefused(reply: Awaited<ReturnType<typeof send>>, field: string): void {
  expect(reply.status).toBe(400);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.body.status).toBe(400);
  expect(reply.body.errors).toEqual([{ field, message: expect.stringMatching(/unpaired UTF-16 surrogate/) }]);
}

const config = (fields: string) => `{"jitsiServerUrl":"${h.jitsi.url}","jitsiAppId":"${tenant}-app"${fields}}`;

describe('PUT /config', () => {
  it.each([
    ['a lone high surrogate in a value', '{"name":"\\ud800"}'],
    ['a lone low surrogate deep down', '{"theme":{"colors":["#fff\\udc00"]}}'],
    ['a lone surrogate in a key', '{"\\ud800":"x"}'],
    ['a lone surrogate in a nested key', '{"theme":{"a\\udbff":"x"}}'],
  ])('refuses branding with %s as body.branding, not a 500', async (_what, branding) => {
    expectRefused(await send('PUT', '/config', admin(tenant), config(`,"branding":${branding}`)), 'body.branding');
  });

  it('refuses a lone surrogate in jitsiAppId instead of storing U+FFFD', async () => {
    expectRefused(await send('PUT', '/config', admin(tenant), config(',"jitsiAppId":"app\\ud800"')), 'body.jitsiAppId');
    const stored = await h.call<{ jitsiAppId: string }>('GET', `${API}/config`, { as: admin(tenant) });
    expect(stored.body.jitsiAppId).toBe(`${tenant}-app`);
  });

  it('still takes a surrogate pair (an emoji) in branding', async () => {
    const reply = await send('PUT', '/config', admin(tenant), config(',"branding":{"name":"Clinic \\ud83d\\ude00"}'));
    expect(reply.status).toBe(200);
  });
});

describe('session actions', () => {
  it('refuses a lone surrogate in a cancel reason, and the session stays scheduled', async () => {
    expectRefused(await send('POST', `/sessions/${sessionId}/cancel`, practitioner(tenant), '{"reason":"patient \\ud800 ill"}'), 'body.reason');
    const session = await h.call<{ status: string; cancelReason: string | null }>('GET', `${API}/sessions/${sessionId}`, { as: practitioner(tenant) });
    expect(session.body).toMatchObject({ status: 'scheduled', cancelReason: null });
  });

  it('refuses a lone surrogate in a join displayName: no ticket, no participant', async () => {
    expectRefused(await send('POST', `/sessions/${sessionId}/join`, practitioner(tenant), '{"displayName":"Dr \\udc00"}'), 'body.displayName');
    const participants = await h.call<{ items: unknown[] }>('GET', `${API}/sessions/${sessionId}/participants`, { as: practitioner(tenant) });
    expect(participants.body.items).toEqual([]);
  });
});

describe('problems do not echo client input', () => {
  const email = 'jane.doe@example.org';

  it('an unknown body key is not quoted back', async () => {
    const reply = await h.call<ProblemBody>('POST', `${API}/sessions`, {
      as: practitioner(tenant),
      body: { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z', [email]: 1 },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    expect(JSON.stringify(reply.body)).not.toContain(email);
  });

  it('an unknown query key is not quoted back', async () => {
    const reply = await h.call<ProblemBody>('GET', `${API}/sessions?${encodeURIComponent(email)}=1`, { as: practitioner(tenant) });
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body.errors)).not.toContain('jane.doe');
    expect(reply.body.detail).not.toContain('jane.doe');
  });

  it('the 404 of a path no route has does not repeat the path in its detail', async () => {
    const reply = await h.call<ProblemBody>('GET', `${API}/patients/${email}`, { as: practitioner(tenant) });
    expect(reply.status).toBe(404);
    expect(reply.body.detail).not.toContain('jane.doe');
    expect(reply.body.detail).not.toContain('/patients');
  });
});
