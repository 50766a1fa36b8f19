import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTenant, type Harness, scheduleSession, startHarness } from '../testing/harness';

/**
 * Hostile input across every route (real PostgreSQL): never a 5xx; every reply is an RFC 9457 problem
 * (problem+json with `type`, `title`, `detail` and an integer `status` equal to the HTTP code); wherever the
 * generator knows the one place it broke (a field, a path param, the body, a header), the reply names it,
 * whatever its problem type.
 */
const API = '/api/v1/virtual-care';
const caller = { sub: 'Practitioner/p-1', tenant: 'hostile', roles: ['vc:admin', 'vc:practitioner'] };
let h: Harness;
let sessionId: string;
let token: string;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, 'hostile');
  sessionId = await scheduleSession(h, 'hostile');
  token = await h.token(caller);
});
afterAll(async () => {
  await h?.close();
});

interface BadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** The field the problem must name (`errors[].field`), when the input is bad in one known place. */
  field?: string;
}

const NUL = '\u0000';
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const badDate = fc.constantFrom(
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:30:00+01:00',
  '9999-12-31T23:00:00-05:00',
  '+275760-09-13T00:00:00Z',
  '2026-13-01T00:00:00Z',
  'tomorrow',
  '',
);
const textWithNul = fc.string({ maxLength: 20 }).map((s) => `${s}${NUL}${s}`);
/** Valid JSON (`"\ud800"`) that UTF-8, hence PostgreSQL, cannot hold: a surrogate without its other half. */
const loneSurrogate = fc.oneof(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff })).map((u) => String.fromCharCode(u));
const textWithLoneSurrogate = fc.tuple(fc.string({ maxLength: 20 }), loneSurrogate).map(([s, u]) => `${s}${u}`);
/** Text a body may not carry; query strings get NUL only (encodeURIComponent throws on a lone surrogate). */
const unstorableText = fc.oneof(textWithNul, textWithLoneSurrogate);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const forgedCursor = fc.oneof(
  fc.constantFrom(
    b64(['0000-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000000']),
    b64(['2026-01-01T00:00:00Z', '-'.repeat(36)]),
    b64(['+275760-09-13T00:00:00.000Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff']),
    b64({ a: 1 }),
    b64([]),
    'AAAA',
    '-'.repeat(36),
  ),
  fc.tuple(fc.string(), fc.string()).map(b64),
);
/** Ids that are bad in the path (never decode, or not a uuid): `params.id`. A well-formed uuid is left to 404 (or 400). */
const badSessionId = fc.constantFrom('%ZZ', '%', '%E0%A4%A', '-'.repeat(36), 'not-a-uuid', '%00', "1'or'1");
const sessionPath = fc.oneof(
  badSessionId.map((id) => ({ id, field: 'params.id' as string | undefined })),
  fc.uuid().map((id) => ({ id, field: undefined })),
);
/** `{` and then anything, except what happens to complete a JSON document (`{` + `}`). */
const notJson = fc
  .string()
  .map((s) => `{${s}`)
  .filter((text) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  });
const actions = ['join', 'leave', 'end', 'cancel'] as const;
const json = (v: unknown) => JSON.stringify(v);

const badRequest: fc.Arbitrary<BadRequest> = fc.oneof(
  // POST /sessions: each body is bad in one field.
  badDate.map((d) => ({ method: 'POST', path: '/sessions', body: json({ patientRef: 'Patient/pt-1', scheduledStart: d }), field: 'body.scheduledStart' })),
  badDate.map((d) => ({
    method: 'POST',
    path: '/sessions',
    body: json({ patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z', scheduledEnd: d }),
    field: 'body.scheduledEnd',
  })),
  textWithNul.map((t) => ({
    method: 'POST',
    path: '/sessions',
    body: json({ patientRef: `Patient/${t}`, scheduledStart: '2026-03-01T10:00:00Z' }),
    field: 'body.patientRef',
  })),
  fc.anything().map((v) => ({
    method: 'POST',
    path: '/sessions',
    body: json({ patientRef: v, scheduledStart: '2026-03-01T10:00:00Z' }) ?? '{}',
    field: 'body.patientRef',
  })),
  // GET /sessions: forged cursors, bad dates, bad limits.
  forgedCursor.map((c) => ({ method: 'GET', path: `/sessions?cursor=${encodeURIComponent(c)}`, field: 'query.cursor' })),
  badDate.map((d) => ({ method: 'GET', path: `/sessions?from=${encodeURIComponent(d)}`, field: 'query.from' })),
  fc.constantFrom('0', '-1', '101', '1e400', 'NaN', 'abc', '1.5').map((l) => ({ method: 'GET', path: `/sessions?limit=${l}`, field: 'query.limit' })),
  textWithNul.map((t) => ({ method: 'GET', path: `/sessions?patientRef=${encodeURIComponent(t)}`, field: 'query.patientRef' })),
  // Session routes by id, with bad ids or bad bodies.
  fc.tuple(sessionPath, fc.constantFrom('', '/participants')).map(([{ id, field }, tail]) => ({ method: 'GET', path: `/sessions/${id}${tail}`, field })),
  fc
    .tuple(sessionPath, fc.constantFrom(...actions))
    .map(([{ id, field }, action]) => ({ method: 'POST', path: `/sessions/${id}/${action}`, body: json(action === 'cancel' ? { reason: 'x' } : {}), field })),
  unstorableText.map((t) => ({ method: 'POST', path: '/sessions/SESSION/join', body: json({ displayName: t }), field: 'body.displayName' })),
  unstorableText.map((t) => ({ method: 'POST', path: '/sessions/SESSION/cancel', body: json({ reason: t }), field: 'body.reason' })),
  // PUT /config: NUL or lone surrogates in values and branding keys, bad dates, deep branding.
  fc.constantFrom('jitsiAppId', 'jitsiAppSecret', 'jitsiServerUrl').chain((name) =>
    unstorableText.map((t) => ({
      method: 'PUT',
      path: '/config',
      body: json({
        jitsiServerUrl: 'https://meet.example.org',
        jitsiAppId: 'app',
        [name]: name === 'jitsiServerUrl' ? `https://meet.example.org/${t}` : `0123456789abcdef${t}`,
      }),
      field: `body.${name}`,
    })),
  ),
  fc.tuple(unstorableText, fc.boolean()).map(([t, asKey]) => ({
    method: 'PUT',
    path: '/config',
    body: json({ jitsiServerUrl: 'https://meet.example.org', jitsiAppId: 'app', branding: { theme: asKey ? { [t]: 1 } : { name: t } } }),
    field: 'body.branding',
  })),
  badDate.map((d) => ({
    method: 'PUT',
    path: '/config',
    body: json({ jitsiServerUrl: 'https://meet.example.org', jitsiAppId: 'app', fhirEraStart: d }),
    field: 'body.fhirEraStart',
  })),
  fc.integer({ min: 10, max: 40 }).map((depth) => ({
    method: 'PUT',
    path: '/config',
    body: `{"jitsiServerUrl":"https://meet.example.org","jitsiAppId":"app","branding":${nestedObject(depth)}}`,
    field: depth + 1 > 32 ? 'body' : 'body.branding',
  })),
  fc
    .constantFrom(...['/config/test-connection', '/sessions', '/sessions/SESSION/join', '/config'])
    .map((path) => ({ method: path === '/config' ? 'PUT' : 'POST', path, body: nested(10_000), field: 'body' })),
  // Whatever route: bodies that are not what they claim to be.
  fc.constantFrom('/sessions', '/sessions/SESSION/end', '/config/test-connection').chain((path) =>
    fc.oneof(
      // Random bytes are not a gzip stream (no 1f 8b header), so zlib refuses them.
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .filter((b) => b[0] !== 0x1f)
        .map((bytes) => ({ method: 'POST', path, headers: { 'content-encoding': 'gzip' }, body: bytes, field: 'body' })),
      fc.constant({ method: 'POST', path, headers: { 'content-encoding': 'br;q=bogus' }, body: gzipSync('{}'), field: 'header.Content-Encoding' }),
      notJson.map((text) => ({ method: 'POST', path, body: text, field: 'body' })),
      fc.constant({ method: 'POST', path, headers: { 'content-type': 'text/plain' }, body: 'hello', field: 'header.Content-Type' }),
      fc.constant({ method: 'POST', path, headers: { 'content-type': 'application/json; charset=latin-9' }, body: '{}', field: 'header.Content-Type' }),
      fc.constant({ method: 'POST', path, body: json({ big: 'x'.repeat(40_000) }), field: 'body' }),
      fc.constant({ method: 'POST', path, headers: { 'idempotency-key': 'bad key!' }, body: '{}', field: 'header.Idempotency-Key' }),
      fc
        .constantFrom('', 'Bearer', 'Bearer x.y.z', 'Basic dXNlcjpwYXNz')
        .map((authorization) => ({ method: 'POST', path, headers: { authorization }, body: '{}', field: 'header.Authorization' })),
    ),
  ),
  // No route has these paths: a 404 naming no field (a bad escape outside any param is never decoded).
  fc.constantFrom('/nope', '/sessions/a/b/c', '/%E0%A4%A', '/config/%ZZ').map((path) => ({ method: 'GET', path })),
);

interface ProblemReply {
  status?: unknown;
  type?: unknown;
  title?: unknown;
  detail?: unknown;
  errors?: Array<{ field: string; message: string }>;
}

async function send(r: BadRequest): Promise<{ status: number; type: string; body: ProblemReply }> {
  const path = `${API}${r.path.replace('SESSION', sessionId)}`;
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...r.headers,
  };
  const res = await fetch(`${h.url}${path}`, { method: r.method, headers, body: r.body as string | undefined });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: JSON.parse(text || '{}') as never };
}

describe('hostile requests across every route', () => {
  it('never answer 5xx; every reply is problem+json with the HTTP status and names the invalid field', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(badRequest, async (r) => {
        sent += 1;
        const reply = await send(r);
        expect(reply.status, `${r.method} ${r.path}`).toBeGreaterThanOrEqual(400);
        expect(reply.status, `${r.method} ${r.path}`).toBeLessThan(500);
        expect(reply.type).toMatch(/^application\/problem\+json/);
        const what = `${r.method} ${r.path} → ${reply.status} ${JSON.stringify(reply.body)}`;
        expect(reply.body.status, what).toBe(reply.status);
        expect(Number.isInteger(reply.body.status), what).toBe(true);
        expect(reply.body.type, what).toMatch(/^https:\/\/virtual-care\.dev\/problems\/[a-z-]+$/);
        expect(reply.body.title, what).toEqual(expect.stringMatching(/\S/));
        expect(reply.body.detail, what).toEqual(expect.stringMatching(/\S/));
        if (reply.body.type === 'https://virtual-care.dev/problems/validation-failed') expect(reply.body.errors?.length, what).toBeGreaterThan(0);
        for (const e of reply.body.errors ?? [])
          expect(e, what).toEqual({ field: expect.stringMatching(/^(body|params|query|header|path)\b/), message: expect.stringMatching(/\S/) });
        if (r.field) expect(reply.body.errors?.map((e) => e.field) ?? [], what).toContain(r.field);
      }),
      { numRuns: 520 },
    );
    expect(sent).toBeGreaterThanOrEqual(500);
    // 520 sequential requests: seconds alone, minutes on a CI machine shared with other suites.
  }, 300_000);
});
