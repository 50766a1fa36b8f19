import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { type RunningService, startService } from '../server';
import { exchange, type HttpReply } from '../testing/http-exchange';

/**
 * The protocol at the edge of the API, under the default configuration (PGlite in memory, HS256 callers,
 * no NATS, FHIR or access-policy: none of these requests needs them): 405 with `Allow` for a wrong method,
 * problem+json for what Node's HTTP parser refuses and for a request that does not arrive in time, a
 * problem's `instance` that echoes nothing, the Host rules, the default audience check, the OpenAPI
 * document's account of the replies, and no redirect page under /docs/assets.
 */
const API = '/api/v1/virtual-care';
const SECRET = 'protocol-edges-secret-0123456789abcdef';
const SESSION = `${API}/sessions/9b2f1c1e-0c1a-4d1a-8a1a-0a1a1a1a1a1a`;
let service: RunningService;
let dir: string;
const logLines: string[] = [];

const token = (roles: string[], claims: { aud?: string; iss?: string } = { aud: DEFAULT_TOKEN_AUDIENCE }) => {
  const jwt = new SignJWT({ tenant: 'edges', roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('Practitioner/p-1')
    .setIssuedAt()
    .setExpirationTime('10m');
  if (claims.aud !== undefined) jwt.setAudience(claims.aud);
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  return jwt.sign(new TextEncoder().encode(SECRET));
};
let practitioner: string;

type Reply = HttpReply;

function call(method: string, path: string, opts: { bearer?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  return exchange(`${service.url}${path}`, method, headers, opts.body);
}

/**
 * A raw HTTP/1.1 exchange: what a hostile or broken client sends, which no HTTP client library would.
 * `keepOpen` writes without ending the client's side: a request the server must answer and close by itself.
 */
function raw(bytes: string, opts: { keepOpen?: boolean; port?: number } = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(opts.port ?? service.port, '127.0.0.1', () => (opts.keepOpen ? socket.write(bytes) : socket.end(bytes)));
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const [statusLine = '', ...fields] = head.split('\r\n');
      const headers = Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

const mediaType = (headers: Record<string, string | string[] | undefined>) => String(headers['content-type'] ?? '').split(';')[0];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-protocol-'));
  const config = loadConfig({
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_DATABASE_URL: 'pglite:memory',
    VC_KMS: `local:${join(dir, 'kms.json')}`,
    VC_AUTH_HS256_SECRET: SECRET,
    VC_LOG_LEVEL: 'info',
  });
  const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
  service = await startService(config, { logger }, { relay: false, migrate: true });
  practitioner = await token(['vc:practitioner']);
});
afterAll(async () => {
  await service?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('405 Method Not Allowed with Allow, for a path the route table has', () => {
  it.each([
    ['DELETE', `${API}/sessions`, 'GET, HEAD, POST, OPTIONS'],
    ['PATCH', SESSION, 'GET, HEAD, OPTIONS'],
    ['GET', `${SESSION}/end`, 'POST, OPTIONS'],
    ['DELETE', '/healthz', 'GET, HEAD, OPTIONS'],
    ['TRACE', '/healthz', 'GET, HEAD, OPTIONS'],
    ['POST', '/openapi.json', 'GET, HEAD, OPTIONS'],
  ])('%s %s is a 405 problem listing %s', async (method, path, allow) => {
    const reply = await call(method, path, { bearer: path.startsWith(API) ? practitioner : undefined });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe(allow);
    expect(mediaType(reply.headers)).toBe('application/problem+json');
    expect(JSON.parse(reply.text)).toMatchObject({ type: 'https://virtual-care.dev/problems/method-not-allowed', status: 405 });
  });

  it('lists what OPTIONS answers (204, the same Allow, no body) and HEAD is a GET', async () => {
    for (const [path, allow, bearer] of [
      ['/healthz', 'GET, HEAD, OPTIONS', undefined],
      [`${API}/sessions`, 'GET, HEAD, POST, OPTIONS', practitioner],
      [`${SESSION}/end`, 'POST, OPTIONS', practitioner],
      // The path's params are not read: a value that does not decode gets the same reply.
      [`${API}/sessions/%ZZ`, 'GET, HEAD, OPTIONS', practitioner],
    ] as const) {
      const options = await call('OPTIONS', path, { bearer });
      expect([options.status, options.headers.allow, options.text, options.headers['content-type']], path).toEqual([204, allow, '', undefined]);
    }
    expect((await call('HEAD', '/healthz')).status).toBe(200);
    // Before authentication, and where no route is, OPTIONS is answered as any other method.
    expect((await call('OPTIONS', `${API}/sessions`)).status).toBe(401);
    for (const path of [`${API}/nothing-here`, '/nothing-here']) expect((await call('OPTIONS', path, { bearer: practitioner })).status, path).toBe(404);
    // The server-wide form (RFC 9110 §9.3.7) names no path of the table either.
    expect((await raw('OPTIONS * HTTP/1.1\r\nHost: edges\r\nConnection: close\r\n\r\n')).status).toBe(404);
  });

  it('answers an API path without a valid token with the 401 of any method: no Allow, nothing learnt', async () => {
    const wrong = await call('DELETE', `${API}/sessions`);
    const right = await call('GET', `${API}/sessions`);
    expect([wrong.status, right.status]).toEqual([401, 401]);
    expect(wrong.headers.allow).toBeUndefined();
    // The same problem but for its instance, which names each occurrence.
    const { instance: _w, ...wrongProblem } = JSON.parse(wrong.text) as Record<string, unknown>;
    const { instance: _r, ...rightProblem } = JSON.parse(right.text) as Record<string, unknown>;
    expect(wrongProblem).toEqual(rightProblem);
  });

  it('keeps 404 for paths no route has, whatever the method', async () => {
    expect((await call('DELETE', `${API}/nothing-here`, { bearer: practitioner })).status).toBe(404);
    expect((await call('DELETE', '/nothing-here')).status).toBe(404);
  });

  it('refuses a keyed POST to a GET-only path before the key is claimed: the key still works for its own request', async () => {
    const headers = { 'idempotency-key': 'edges-405-key' };
    expect((await call('POST', SESSION, { bearer: practitioner, body: '{}', headers })).status).toBe(405);
    const created = await call('POST', `${API}/sessions`, {
      bearer: practitioner,
      body: '{"patientRef":"Patient/pt-1","scheduledStart":"2026-03-01T10:00:00Z"}',
      headers,
    });
    expect(created.status).toBe(201);
  });
});

describe("what Node's HTTP parser refuses is a problem+json too, with Connection: close", () => {
  it.each([
    ['a 20 kB header field', 431, 'header-fields-too-large', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['a 20 kB request target', 414, 'uri-too-long', `GET ${API}/sessions?${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
    [
      'both Content-Length and Transfer-Encoding',
      400,
      'bad-request',
      `POST ${API}/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    ],
    ['an unknown method', 400, 'bad-request', 'FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a header line without a colon', 400, 'bad-request', 'GET /healthz HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n'],
  ])('%s: %i %s', async (_what, status, type, bytes) => {
    const reply = await raw(bytes);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']?.split(';')[0]).toBe('application/problem+json');
    expect(reply.headers.connection).toBe('close');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    expect(JSON.parse(reply.body)).toMatchObject({ type: `https://virtual-care.dev/problems/${type}`, status });
  });

  it('never echoes or logs the refused request: only the parser error code is logged', async () => {
    const marker = 'Patient-Jane-Doe-1970';
    const reply = await raw(`GET /healthz?${marker} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${marker}\r\nX-Big: ${marker.repeat(1_000)}\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(reply.body).not.toContain(marker);
    const line = logLines.find((l) => l.includes('HPE_HEADER_OVERFLOW'));
    expect(line).toBeDefined();
    expect(logLines.filter((l) => l.includes(marker))).toEqual([]);
  });

  it('keeps serving the next connection', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});

/** The log lines (parsed) whose `req.id` is `id`. */
const linesOf = (id: string) => logLines.map((l) => JSON.parse(l) as { req?: { id?: string } }).filter((l) => l.req?.id === id);
const UUID_URN = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("a problem's instance names the occurrence, never the request path", () => {
  const hostile = `${API}/sessions/%3Cscript%3Ealert(1)%3C%2Fscript%3E-Patient-Jane-Doe`;

  it.each([
    ['a 404 under the API', 'GET', hostile, true],
    ['a 401 under the API', 'GET', hostile, false],
    ['a 404 outside it', 'GET', '/Patient-Jane-Doe/%3Cscript%3E', false],
    ['a 400 for a path segment that does not decode', 'GET', `${API}/sessions/Patient-Jane-Doe%ZZ`, true],
  ])('%s: urn:uuid of a server-made id that the log line of the request carries', async (_what, method, path, authenticated) => {
    // A request id the client offers is client input too: it is not the one used.
    const offered = '00000000-0000-4000-8000-000000000000';
    const reply = await call(method, path, { bearer: authenticated ? practitioner : undefined, headers: { 'x-request-id': offered } });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.text).not.toMatch(/Jane|script|%ZZ/);
    const { instance } = JSON.parse(reply.text) as { instance: string };
    expect(instance).toMatch(UUID_URN);
    expect(instance).not.toContain(offered);
    expect(linesOf(instance.slice('urn:uuid:'.length))).toHaveLength(1);
  });

  it('gives every occurrence its own', async () => {
    const instances = await Promise.all([1, 2, 3].map(async () => (JSON.parse((await call('GET', hostile)).text) as { instance: string }).instance));
    expect(new Set(instances).size).toBe(3);
  });

  it("names one for what the parser refuses too, and logs it with the refusal's code", async () => {
    const reply = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n`);
    const { instance } = JSON.parse(reply.body) as { instance: string };
    expect(instance).toMatch(UUID_URN);
    expect(linesOf(instance.slice('urn:uuid:'.length))).toEqual([expect.objectContaining({ code: 'HPE_INVALID_HEADER_TOKEN', status: 400 })]);
  });
});

describe('Host (RFC 9112 §3.2)', () => {
  it.each([
    ['an HTTP/1.1 GET without Host', 'GET /openapi.json HTTP/1.1\r\n\r\n', 'required on HTTP/1.1'],
    // Refused before authentication (no token here) and before its body is read.
    [
      'an HTTP/1.1 POST to the API without Host',
      `POST ${API}/sessions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      'required on HTTP/1.1',
    ],
    ['an HTTP/1.1 GET with two Host fields', 'GET /openapi.json HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n', 'expected exactly one'],
    ['an HTTP/1.0 GET with two Host fields', 'GET /openapi.json HTTP/1.0\r\nHost: a.example\r\nHost: b.example\r\n\r\n', 'expected exactly one'],
  ])('%s is a 400 problem naming header.Host, with Connection: close', async (_what, bytes, message) => {
    const reply = await raw(bytes, { keepOpen: true });
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']?.split(';')[0]).toBe('application/problem+json');
    expect(reply.headers.connection).toBe('close');
    const problem = JSON.parse(reply.body) as Record<string, unknown>;
    expect(problem).toMatchObject({ type: 'https://virtual-care.dev/problems/bad-request', status: 400, errors: [{ field: 'header.Host', message }] });
    expect(reply.body).not.toContain('example');
    expect(linesOf(String(problem.instance).slice('urn:uuid:'.length))).toEqual([expect.objectContaining({ res: { statusCode: 400 } })]);
  });

  it('answers every documented operation without Host with a 400 that its OpenAPI entry documents', async () => {
    const doc = JSON.parse((await raw('GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n')).body) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => ({ path, method })));
    expect(operations.length).toBeGreaterThan(20);
    for (const { path, method } of operations) {
      const target = path.replace(/\{[^}]+\}/g, 'x');
      const reply = await raw(`${method.toUpperCase()} ${target} HTTP/1.1\r\n\r\n`);
      expect({ operation: `${method} ${path}`, status: reply.status }).toEqual({ operation: `${method} ${path}`, status: 400 });
      expect(doc.paths[path]![method]!.responses, `${method} ${path}`).toHaveProperty('400');
    }
  });

  it('lets an HTTP/1.0 request without Host through', async () => {
    const reply = await raw('GET /openapi.json HTTP/1.0\r\n\r\n', { keepOpen: true });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toHaveProperty('openapi');
  });
});

describe('408 for a request that does not arrive in time', () => {
  let slow: RunningService;
  beforeAll(async () => {
    // Another server on the same database, with timeouts of a fraction of a second (Node's are a minute).
    slow = await startService(
      service.deps.config,
      { ...service.deps },
      { relay: false, migrate: false, timeouts: { headersTimeout: 200, requestTimeout: 400, connectionsCheckingInterval: 50 } },
    );
  });
  afterAll(async () => {
    await slow?.close();
  });

  it.each([
    ['headers never finished', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Patient: Patient-Jane-Doe`],
    [
      'a body never finished',
      `POST ${API}/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"patientRef":"Patient-Jane-Doe"`,
    ],
  ])('%s: a 408 problem with Connection: close', async (_what, bytes) => {
    const reply = await raw(bytes, { keepOpen: true, port: slow.port });
    expect(reply.status).toBe(408);
    expect(reply.headers['content-type']?.split(';')[0]).toBe('application/problem+json');
    expect(reply.headers.connection).toBe('close');
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.body));
    const problem = JSON.parse(reply.body) as { instance: string };
    expect(problem).toMatchObject({ type: 'https://virtual-care.dev/problems/request-timeout', status: 408, instance: expect.stringMatching(UUID_URN) });
    expect(reply.body).not.toContain('Jane');
    expect(linesOf(problem.instance.slice('urn:uuid:'.length))).toHaveLength(1);
  });
});

describe('the token audience under the default configuration', () => {
  it('refuses a token minted for another API, or for none', async () => {
    for (const claims of [{ aud: 'some-other-api', iss: 'https://elsewhere.example' }, {}]) {
      const reply = await call('GET', `${API}/sessions`, { bearer: await token(['vc:practitioner'], claims) });
      expect(reply.status).toBe(401);
      expect(reply.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    }
  });

  it(`accepts one minted for ${DEFAULT_TOKEN_AUDIENCE}`, async () => {
    expect((await call('GET', `${API}/sessions`, { bearer: practitioner })).status).toBe(200);
  });
});

describe('the served OpenAPI document accounts for the replies', () => {
  type Response = { headers?: Record<string, unknown>; content?: Record<string, { schema: { type?: string; $ref?: string } }> };
  type Doc = { paths: Record<string, Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, Response> }>> };
  let doc: Doc;
  beforeAll(async () => {
    doc = JSON.parse((await call('GET', '/openapi.json')).text) as Doc;
  });

  it('documents 413 and 415 on GETs of the API, whose bodies are checked as any other', async () => {
    const refused = await call('GET', `${API}/sessions`, { bearer: practitioner, body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(refused.status).toBe(415);
    const tooBig = await call('GET', `${API}/sessions`, { bearer: practitioner, body: JSON.stringify({ x: 'a'.repeat(40_000) }) });
    expect(tooBig.status).toBe(413);
    for (const [path, item] of Object.entries(doc.paths).filter(([p]) => p.startsWith(API))) {
      for (const [method, operation] of Object.entries(item))
        expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['413', '415']));
    }
  });

  it('describes /openapi.json as the JSON object it is', async () => {
    const media = doc.paths['/openapi.json']!.get!.responses['200']!.content!['application/json']!;
    expect(media.schema.type).not.toBe('string');
    expect(media.schema.$ref).toBe('#/components/schemas/OpenApiDocument');
  });

  it('documents the 304 a GET answers to a matching If-None-Match', async () => {
    const created = await call('POST', `${API}/sessions`, {
      bearer: practitioner,
      body: '{"patientRef":"Patient/pt-2","scheduledStart":"2026-03-01T10:00:00Z"}',
    });
    const path = `${API}/sessions/${(JSON.parse(created.text) as { id: string }).id}`;
    const first = await call('GET', path, { bearer: practitioner });
    const again = await call('GET', path, { bearer: practitioner, headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.status).toBe(304);
    for (const [template, method] of [
      [`${API}/sessions/{id}`, 'get'],
      [`${API}/config`, 'get'],
    ] as const) {
      const operation = doc.paths[template]![method]!;
      expect(operation.responses['304']?.headers, template).toHaveProperty('ETag');
      expect(
        operation.parameters?.map((p) => p.name),
        template,
      ).toContain('If-None-Match');
    }
  });

  it('sends an ETag exactly on the replies whose documented response declares one: GET and HEAD successes and their 304', async () => {
    const created = await call('POST', `${API}/sessions`, {
      bearer: practitioner,
      body: '{"patientRef":"Patient/pt-3","scheduledStart":"2026-03-01T10:00:00Z"}',
    });
    const id = (JSON.parse(created.text) as { id: string }).id;
    const session = `${API}/sessions/${id}`;
    const tagOf = async (path: string) => String((await call('GET', path, { bearer: practitioner })).headers.etag);
    const probes: Array<[string, string, string, Parameters<typeof call>[2]?]> = [
      ['GET', session, `${API}/sessions/{id}`, { bearer: practitioner }],
      ['HEAD', session, `${API}/sessions/{id}`, { bearer: practitioner }],
      ['GET', session, `${API}/sessions/{id}`, { bearer: practitioner, headers: { 'if-none-match': await tagOf(session) } }],
      ['GET', `${API}/sessions`, `${API}/sessions`, { bearer: practitioner }],
      ['GET', SESSION, `${API}/sessions/{id}`, { bearer: practitioner }],
      ['GET', `${API}/sessions/abc`, `${API}/sessions/{id}`, { bearer: practitioner }],
      ['GET', `${API}/sessions`, `${API}/sessions`, {}],
      ['POST', `${API}/sessions`, `${API}/sessions`, { bearer: practitioner, body: '{"patientRef":"Patient/pt-4","scheduledStart":"2026-03-01T10:00:00Z"}' }],
      ['POST', `${API}/sessions`, `${API}/sessions`, { bearer: practitioner, body: '{}' }],
      ['POST', `${API}/sessions`, `${API}/sessions`, { bearer: practitioner, body: 'x', headers: { 'content-type': 'text/plain' } }],
      ['POST', `${session}/cancel`, `${API}/sessions/{id}/cancel`, { bearer: practitioner, body: '{"reason":"r"}' }],
      ['POST', `${session}/cancel`, `${API}/sessions/{id}/cancel`, { bearer: practitioner, body: '{"reason":"r"}' }],
      ['GET', '/openapi.json', '/openapi.json'],
      ['GET', '/openapi.json', '/openapi.json', { headers: { 'if-none-match': await tagOf('/openapi.json') } }],
      ['GET', '/healthz', '/healthz'],
      ['GET', '/readyz', '/readyz'],
      ['GET', '/metrics', '/metrics'],
      ['GET', '/docs', '/docs'],
    ];
    const seen: string[] = [];
    for (const [method, path, template, opts] of probes) {
      const reply = await call(method, path, opts);
      const documented = doc.paths[template]![method === 'HEAD' ? 'get' : method.toLowerCase()]!.responses[String(reply.status)];
      expect(documented, `${method} ${path} ${reply.status} is documented`).toBeDefined();
      const declared = Object.keys(documented!.headers ?? {}).includes('ETag');
      expect(reply.headers.etag !== undefined, `${method} ${path} ${reply.status}: ETag ${declared ? 'declared' : 'not declared'}`).toBe(declared);
      seen.push(`${method} ${template} ${reply.status}${declared ? ' ETag' : ''}`);
    }
    // The replies the probes meant to reach: successes, conditional GETs, refusals and problems.
    expect(seen).toEqual([
      `GET ${API}/sessions/{id} 200 ETag`,
      `HEAD ${API}/sessions/{id} 200 ETag`,
      `GET ${API}/sessions/{id} 304 ETag`,
      `GET ${API}/sessions 200 ETag`,
      `GET ${API}/sessions/{id} 404`,
      `GET ${API}/sessions/{id} 400`,
      `GET ${API}/sessions 401`,
      `POST ${API}/sessions 201`,
      `POST ${API}/sessions 400`,
      `POST ${API}/sessions 415`,
      `POST ${API}/sessions/{id}/cancel 200`,
      `POST ${API}/sessions/{id}/cancel 409`,
      'GET /openapi.json 200 ETag',
      'GET /openapi.json 304 ETag',
      'GET /healthz 200 ETag',
      'GET /readyz 200 ETag',
      'GET /metrics 200 ETag',
      'GET /docs 200 ETag',
    ]);
    // A GET route's own non-success reply (readyz's 503) is not conditional: no ETag declared.
    expect(doc.paths['/readyz']!.get!.responses['503']!.headers ?? {}).not.toHaveProperty('ETag');
  });

  it('documents WWW-Authenticate on every 401 and Idempotent-Replayed on the replies of keyed POSTs', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, o]) => ({ path, method, o })));
    for (const { path, method, o } of operations.filter(({ o }) => o.responses['401'])) {
      expect(o.responses['401']!.headers, `${method} ${path}`).toHaveProperty('WWW-Authenticate');
    }
    // A malformed Authorization header is a 400 with an invalid_request challenge, on every operation behind auth.
    for (const { path, method, o } of operations.filter(({ path }) => path.startsWith(API))) {
      expect(o.responses['400']!.headers, `${method} ${path}`).toHaveProperty('WWW-Authenticate');
    }
    // A public route's 400 (no Host) is no authentication problem: no challenge.
    expect(doc.paths['/healthz']!.get!.responses['400']).toBeDefined();
    expect(doc.paths['/healthz']!.get!.responses['400']!.headers ?? {}).not.toHaveProperty('WWW-Authenticate');
    const create = doc.paths[`${API}/sessions`]!.post!;
    expect(create.responses['201']!.headers).toHaveProperty('Idempotent-Replayed');
    expect(create.responses['400']!.headers).toHaveProperty('Idempotent-Replayed');
    expect(create.responses['401']!.headers).not.toHaveProperty('Idempotent-Replayed');
  });
});

describe('no HTML redirect pages', () => {
  it.each(['/docs/assets', '/docs/assets/'])('GET %s (a directory of the static bundle) is the problem+json 404', async (path) => {
    const reply = await call('GET', path);
    expect(reply.status).toBe(404);
    expect(reply.headers.location).toBeUndefined();
    expect(mediaType(reply.headers)).toBe('application/problem+json');
  });
});
