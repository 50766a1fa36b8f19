import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTenant, type Harness, scheduleSession, startHarness } from '../testing/harness';
import { exchange, type HttpReply } from '../testing/http-exchange';

/**
 * Every error the server sends, driven by hostile requests on real PostgreSQL: an RFC 9457 problem
 * (`application/problem+json`, `type`, `title`, `status` equal to the HTTP code, a `detail` that quotes
 * nothing the client sent), and documented in `/openapi.json` for the operation asked, with that media
 * type; what no operation can document (a path no route has, a method a path does not take) is absent
 * from the document on purpose. HEAD answers every GET of the document as the GET does, without a body.
 */
const API = '/api/v1/virtual-care';
const TENANT = 'problems';
/** Stands for PHI a client might put anywhere in a request: no reply may carry it back. */
const MARKER = 'Jane-Doe-1970';
const caller = { sub: 'Practitioner/p-1', tenant: TENANT, roles: ['vc:admin', 'vc:practitioner'] };

type Operation = { operationId: string; responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, unknown> }> };
type Doc = { paths: Record<string, Record<string, Operation>> };

let h: Harness;
let doc: Doc;
let token: string;
let sessionId: string;

type Reply = HttpReply;

function send(method: string, path: string, opts: { headers?: Record<string, string>; body?: string; anonymous?: boolean } = {}): Promise<Reply> {
  return exchange(`${h.url}${path}`, method, { ...(opts.anonymous ? {} : { authorization: `Bearer ${token}` }), ...opts.headers }, opts.body);
}

/** The document's path template a request path falls under (`/sessions/{id}` for `/sessions/abc`). */
function templateOf(path: string): string | undefined {
  const bare = path.split('?')[0]!;
  return Object.keys(doc.paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(bare));
}

const session = () => `${API}/sessions/${sessionId}`;
const mediaType = (reply: Reply) => String(reply.headers['content-type'] ?? '').split(';')[0];

/** The reply is an RFC 9457 problem of `type`, with the HTTP status, quoting nothing of the request. */
function expectProblem(reply: Reply, status: number, type: string, what: string): Record<string, unknown> {
  expect({ what, status: reply.status, media: mediaType(reply) }).toEqual({ what, status, media: 'application/problem+json' });
  const problem = JSON.parse(reply.text) as Record<string, unknown>;
  expect(problem, what).toMatchObject({ type: `https://virtual-care.dev/problems/${type}`, status, title: expect.stringMatching(/\S/) });
  expect(problem.detail, what).toEqual(expect.stringMatching(/\S/));
  expect(reply.text, what).not.toContain(MARKER);
  // No internals: no stack frame, SQL or file path in what the client reads.
  expect(reply.text, what).not.toMatch(/\bat \w+ \(|node_modules|select |insert |\.ts:\d/i);
  return problem;
}

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, TENANT);
  sessionId = await scheduleSession(h, TENANT);
  token = await h.token(caller);
  doc = (await h.call<Doc>('GET', '/openapi.json')).body;
});
afterAll(async () => {
  await h?.close();
});

describe('hostile requests get documented problems', () => {
  const json = { 'content-type': 'application/json' };
  const putBody = () => JSON.stringify({ jitsiServerUrl: h.jitsi.url, jitsiAppId: `${TENANT}-app`, branding: { name: TENANT } });
  const cases: Array<{
    what: string;
    method: string;
    path: () => string;
    headers?: Record<string, string>;
    body?: () => string;
    status: number;
    type: string;
    field?: string;
    message?: RegExp;
  }> = [
    {
      what: 'a malformed JSON body',
      method: 'POST',
      path: () => `${API}/sessions`,
      headers: json,
      body: () => `{"patientRef":"Patient/${MARKER}",`,
      status: 400,
      type: 'validation-failed',
      field: 'body',
    },
    {
      what: 'a body over the 32 kB limit',
      method: 'POST',
      path: () => `${API}/sessions`,
      headers: json,
      body: () => JSON.stringify({ patientRef: MARKER.repeat(3_000) }),
      status: 413,
      type: 'payload-too-large',
      field: 'body',
    },
    {
      what: 'a text/plain body on a POST',
      method: 'POST',
      path: () => `${API}/sessions`,
      headers: { 'content-type': 'text/plain' },
      body: () => MARKER,
      status: 415,
      type: 'unsupported-media-type',
      field: 'header.Content-Type',
    },
    {
      what: 'a form body on a PUT',
      method: 'PUT',
      path: () => `${API}/config`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: () => `name=${MARKER}`,
      status: 415,
      type: 'unsupported-media-type',
      field: 'header.Content-Type',
    },
    {
      what: 'a POST body without Content-Type',
      method: 'POST',
      path: () => `${session()}/cancel`,
      body: () => `{"reason":"${MARKER}"}`,
      status: 415,
      type: 'unsupported-media-type',
      field: 'header.Content-Type',
    },
    {
      what: 'a path param that is not a uuid',
      method: 'GET',
      path: () => `${API}/sessions/${MARKER}`,
      status: 400,
      type: 'validation-failed',
      field: 'params.id',
    },
    {
      what: 'a path param that is not a uuid, on a POST',
      method: 'POST',
      path: () => `${API}/sessions/${MARKER}/end`,
      headers: json,
      body: () => '{}',
      status: 400,
      type: 'validation-failed',
      field: 'params.id',
    },
    {
      what: 'a path param that does not decode',
      method: 'GET',
      path: () => `${API}/sessions/${MARKER}%ZZ`,
      status: 400,
      type: 'bad-request',
      field: 'params.id',
    },
    {
      what: 'an error asked for as text/html',
      method: 'GET',
      path: () => `${API}/sessions/${MARKER}`,
      headers: { accept: 'text/html' },
      status: 400,
      type: 'validation-failed',
      field: 'params.id',
    },
    {
      what: 'a repeated query param',
      method: 'GET',
      path: () => `${API}/sessions?limit=1&limit=2`,
      status: 400,
      type: 'validation-failed',
      field: 'query.limit',
      message: /^expected one value \(given 2 times\)$/,
    },
    {
      what: 'a repeated enum query param',
      method: 'GET',
      path: () => `${API}/sessions?status=ended&status=ended&status=waiting`,
      status: 400,
      type: 'validation-failed',
      field: 'query.status',
      message: /given 3 times/,
    },
    {
      what: 'an oversized query param',
      method: 'GET',
      path: () => `${API}/sessions?cursor=${MARKER.repeat(400)}`,
      status: 400,
      type: 'validation-failed',
      field: 'query.cursor',
    },
    { what: 'an undeclared query param', method: 'GET', path: () => `${API}/sessions?${MARKER}=1`, status: 400, type: 'validation-failed', field: 'query' },
    {
      what: 'a query over the request-line limit',
      method: 'GET',
      path: () => `${API}/sessions?cursor=${MARKER.repeat(1_500)}`,
      status: 414,
      type: 'uri-too-long',
    },
    {
      what: 'a malformed If-Match',
      method: 'PUT',
      path: () => `${API}/config`,
      headers: { ...json, 'if-match': MARKER },
      body: putBody,
      status: 400,
      type: 'validation-failed',
      field: 'header.If-Match',
    },
    {
      what: 'an If-Match longer than documented',
      method: 'PUT',
      path: () => `${API}/config`,
      headers: { ...json, 'if-match': Array.from({ length: 60 }, () => `"${MARKER}"`).join(', ') },
      body: putBody,
      status: 400,
      type: 'validation-failed',
      field: 'header.If-Match',
      message: /at most 500 characters/,
    },
    {
      what: 'a weak If-Match tag',
      method: 'PUT',
      path: () => `${API}/config`,
      headers: { ...json, 'if-match': `W/"${MARKER}"` },
      body: putBody,
      status: 412,
      type: 'precondition-failed',
    },
    { what: 'an unknown route under the API', method: 'GET', path: () => `${API}/${MARKER}`, status: 404, type: 'not-found' },
    {
      what: 'an unknown route at the root, asked as text/html',
      method: 'GET',
      path: () => `/${MARKER}`,
      headers: { accept: 'text/html' },
      status: 404,
      type: 'not-found',
    },
    { what: 'an unknown method on an API path', method: 'DELETE', path: () => `${API}/sessions`, status: 405, type: 'method-not-allowed' },
    {
      what: 'an unknown method on the config',
      method: 'PATCH',
      path: () => `${API}/config`,
      headers: json,
      body: () => '{}',
      status: 405,
      type: 'method-not-allowed',
    },
    { what: 'an unknown method on a public path', method: 'PUT', path: () => '/healthz', status: 405, type: 'method-not-allowed' },
  ];

  it.each(cases)('$what: $status $type', async ({ what, method, path, headers, body, status, type, field, message }) => {
    const url = path();
    const reply = await send(method, url, { headers, body: body?.() });
    const problem = expectProblem(reply, status, type, what);
    if (field) expect(problem.errors, what).toEqual([{ field, message: expect.stringMatching(message ?? /\S/) }]);
    const template = templateOf(url);
    const operation = template === undefined ? undefined : doc.paths[template]![method.toLowerCase()];
    if (status === 404 && template === undefined) return;
    if (status === 405) {
      // A method the path does not take has no operation to document its 405 under; `Allow` (and OPTIONS) name those it takes.
      expect(operation, what).toBeUndefined();
      const allow = String(reply.headers.allow).split(', ');
      expect(
        allow
          .filter((m) => m !== 'OPTIONS')
          .map((m) => m.toLowerCase())
          .sort(),
        what,
      ).toEqual(
        Object.keys(doc.paths[template!]!)
          .filter((m) => m !== 'options')
          .sort(),
      );
      return;
    }
    expect(operation, `${what}: ${method} ${template} is documented`).toBeDefined();
    expect(operation!.responses[String(status)]?.content, `${what}: ${operation!.operationId} documents ${status}`).toHaveProperty([
      'application/problem+json',
    ]);
    expect(String((operation!.responses[String(status)] as { description?: string }).description), what).toContain(type);
  });

  it('answers a success asked for as text/html with its JSON, the one representation there is', async () => {
    const reply = await send('GET', session(), { headers: { accept: 'text/html' } });
    expect([reply.status, mediaType(reply)]).toEqual([200, 'application/json']);
    expect(JSON.parse(reply.text)).toMatchObject({ id: sessionId });
  });

  it('gives the full reply to an If-None-Match that names no current tag, malformed ones included', async () => {
    for (const value of [MARKER, '"0-0"', 'W/"x"', '*,,']) {
      const reply = await send('GET', `${API}/config`, { headers: { 'if-none-match': value } });
      expect([value, reply.status]).toEqual([value, 200]);
    }
  });
});

describe("the static files of /docs (outside the API's document)", () => {
  it('answer a failed precondition with a 412 problem, not a 400', async () => {
    const reply = await send('GET', '/docs/assets/standalone.js', { anonymous: true, headers: { 'if-match': `"${MARKER}"` } });
    expectProblem(reply, 412, 'precondition-failed', 'If-Match on a static file');
  });

  it('answer a range past the end with a 416 problem naming the length in Content-Range', async () => {
    const full = await send('HEAD', '/docs/assets/standalone.js', { anonymous: true });
    const reply = await send('GET', '/docs/assets/standalone.js', { anonymous: true, headers: { range: 'bytes=999999999-' } });
    expectProblem(reply, 416, 'range-not-satisfiable', 'Range past the end of a static file');
    expect(reply.headers['content-range']).toBe(`bytes */${String(full.headers['content-length'])}`);
    expect(templateOf('/docs/assets/standalone.js')).toBeUndefined();
  });
});

describe('HEAD', () => {
  /** The headers a HEAD must share with its GET: what describes the body it leaves out. */
  const described = (reply: Reply) => ({
    status: reply.status,
    type: reply.headers['content-type'],
    length: reply.headers['content-length'],
    etag: reply.headers.etag,
  });

  it('is documented for every GET of the document and answers as the GET does, without a body', async () => {
    const gets = Object.entries(doc.paths).filter(([, item]) => item.get);
    expect(gets.length).toBeGreaterThanOrEqual(9);
    for (const [template, item] of gets) {
      const head = item.head;
      expect(head, `HEAD ${template} is documented`).toBeDefined();
      expect(Object.keys(head!.responses), template).toEqual(Object.keys(item.get!.responses));
      for (const [status, response] of Object.entries(head!.responses)) expect(response.content, `HEAD ${template} ${status} has no body`).toBeUndefined();
      expect(head!.operationId, template).toMatch(/^head[A-Z]/);

      const path = template.replace('{id}', sessionId);
      const [get, headReply] = [await send('GET', path), await send('HEAD', path)];
      expect(headReply.text, `HEAD ${path}`).toBe('');
      // /readyz and /metrics compute each reply: the status and media type agree, the length may move.
      const volatile = template === '/readyz' || template === '/metrics';
      const { length: _gl, etag: _ge, ...getStable } = described(get);
      const { length: _hl, etag: _he, ...headStable } = described(headReply);
      expect(volatile ? headStable : described(headReply), `HEAD ${path}`).toEqual(volatile ? getStable : described(get));
      expect(head!.responses[String(headReply.status)], `HEAD ${path} ${headReply.status} is documented`).toBeDefined();
    }
  });

  it('answers a refused GET with the problem headers and no body: 400, 401, 404, 405', async () => {
    for (const [path, anonymous, status, type] of [
      [`${API}/sessions/not-a-uuid`, false, 400, 'validation-failed'],
      [`${API}/sessions?limit=1&limit=2`, false, 400, 'validation-failed'],
      [`${API}/sessions`, true, 401, 'unauthenticated'],
      [`${API}/sessions/00000000-0000-4000-8000-000000000000`, false, 404, 'not-found'],
      [`/${MARKER}`, false, 404, 'not-found'],
      [`${session()}/end`, false, 405, 'method-not-allowed'],
    ] as const) {
      const [get, head] = [await send('GET', path, { anonymous }), await send('HEAD', path, { anonymous })];
      expectProblem(get, status, type, `GET ${path}`);
      // The 404's detail names the method (`no route answers HEAD at this path`): its length is its own.
      const length = status === 404 && path.startsWith(`/${MARKER}`) ? head.headers['content-length'] : get.headers['content-length'];
      expect([head.status, mediaType(head), head.headers['content-length'], head.text], `HEAD ${path}`).toEqual([
        status,
        'application/problem+json',
        length,
        '',
      ]);
      expect(Number(head.headers['content-length']), `HEAD ${path}`).toBeGreaterThan(0);
      if (status === 405) expect(head.headers.allow).toBe('POST, OPTIONS');
    }
  });
});
