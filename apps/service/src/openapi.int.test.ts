import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import createClient, { type Middleware } from 'openapi-fetch';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from './testing/openapi-types';
import { admin, type Harness, patient, practitioner, recordConsent, startHarness } from './testing/harness';
import { lintWithSpectral } from './testing/spectral';

/**
 * `/openapi.json` as a contract: Redocly's recommended-strict and Spectral's spectral:oas rulesets pass, the committed client types are the
 * ones openapi-typescript generates from the served document, and a client built on them (openapi-fetch)
 * drives a session's life on real PostgreSQL while every reply is checked against its documented status
 * and schema. `VC_UPDATE_OPENAPI_TYPES=1` rewrites the committed types instead of comparing them.
 */
type Json = Record<string, unknown>;
type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId: string;
        security?: unknown[];
        responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { schema: { $ref?: string } }> }>;
      }
    >
  >;
  components: { schemas: Record<string, Json> };
};

const API = '/api/v1/virtual-care';
const TYPES_FILE = fileURLToPath(new URL('./testing/openapi-types.ts', import.meta.url));
const REDOCLY = fileURLToPath(new URL('../node_modules/.bin/redocly', import.meta.url));
const TENANT = 'contract';

let h: Harness;
let doc: Doc;
let dir: string;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const checked: string[] = [];
const DESCRIBED_HEADERS = ['etag', 'www-authenticate', 'retry-after', 'location', 'allow', 'idempotent-replayed', 'ratelimit', 'ratelimit-policy'];

/** Every reply the client sees must be documented for its operation and match the documented schema. */
const contract: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const operation = doc.paths[schemaPath]?.[request.method.toLowerCase()];
    expect(operation, `${request.method} ${schemaPath} is documented`).toBeDefined();
    const documented = operation!.responses[String(response.status)];
    expect(documented, `${operation!.operationId} documents ${response.status}`).toBeDefined();
    // The headers a client acts on are sent only where the document declares them.
    const declared = Object.keys(documented!.headers ?? {}).map((name) => name.toLowerCase());
    for (const name of DESCRIBED_HEADERS)
      if (response.headers.has(name)) expect(declared, `${operation!.operationId} ${response.status} declares ${name}`).toContain(name);
    if (documented!.content === undefined) {
      // A reply documented without content (204) has none: no body, no media type.
      expect(await response.clone().text(), `${operation!.operationId} ${response.status} has no body`).toBe('');
      expect(response.headers.get('content-type'), `${operation!.operationId} ${response.status} has no media type`).toBeNull();
      checked.push(`${operation!.operationId} ${response.status}`);
      return undefined;
    }
    const type = response.headers.get('content-type')?.split(';')[0] ?? '';
    const media = documented!.content[type];
    expect(media, `${operation!.operationId} ${response.status} documents ${type}`).toBeDefined();
    const body: unknown = await response.clone().json();
    const valid = ajv.validate({ $ref: `openapi.json${media!.schema.$ref!}` }, body);
    expect(valid, `${operation!.operationId} ${response.status}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
    if (type === 'application/problem+json') expect((body as { status: number }).status).toBe(response.status);
    checked.push(`${operation!.operationId} ${response.status}`);
    return undefined;
  },
};

async function clientAs(caller: Parameters<Harness['token']>[0]) {
  const client = createClient<paths>({ baseUrl: h.url, headers: { authorization: `Bearer ${await h.token(caller)}` } });
  client.use(contract);
  return client;
}

beforeAll(async () => {
  h = await startHarness({ fhir: false });
  doc = (await h.call<Doc>('GET', '/openapi.json')).body;
  ajv.addSchema(doc, 'openapi.json');
  dir = await mkdtemp(join(tmpdir(), 'vc-openapi-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended-strict ruleset: no error, no warning", async () => {
    const file = join(dir, 'openapi.json');
    await writeFile(file, JSON.stringify(doc));
    const run = promisify(execFile)(REDOCLY, ['lint', file, '--extends=recommended-strict', '--format=json'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    // Exit 1 means errors: keep the report either way and assert on it, so a failure lists the problems.
    const { stdout } = await run.catch((error: { stdout: string }) => error);
    const report = JSON.parse(stdout) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
    };
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
    // No warnings either: even the public routes document a 4xx (the 400 of a request without one Host header).
    expect(report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`)).toEqual([]);
  });

  it("passes Spectral's spectral:oas ruleset, every rule at every severity: no finding at all", async () => {
    const findings = await lintWithSpectral(doc);
    expect(findings.map((f) => `${f.code} ${f.path}: ${f.message}`)).toEqual([]);
  });

  it('names every operation once, defines Session once and references it, and marks public routes', () => {
    const operations = Object.values(doc.paths).flatMap((item) => Object.values(item));
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['createSession', 'joinSession', 'endSession', 'cancelSession', 'putConfig', 'getHealth', 'getDocs']));
    expect(doc.components.schemas.Session).toBeDefined();
    // Session is one component, referenced: no path repeats its fields inline.
    expect(JSON.stringify(doc.paths)).not.toContain('"legacyId"');
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      expect(doc.paths[path]!.get!.security).toEqual([]);
      expect(doc.paths[path]!.options!.security).toEqual([]);
    }
    expect(Object.keys(doc.paths[`${API}/config`]!.put!.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401', '403', '412']));
    expect(operations.every((o) => !('default' in o.responses))).toBe(true);
  });

  it('documents the rate-limit headers on every rate-limited operation: RateLimit and RateLimit-Policy on its replies, Retry-After on its 429', () => {
    type Headers = Record<string, { $ref: string }>;
    const headers = (doc as unknown as { components: { headers: Record<string, unknown> } }).components.headers;
    expect(Object.keys(headers).sort()).toEqual(['Allow', 'ETag', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate']);
    const limited = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith(API))
      .flatMap(([, item]) => Object.values(item));
    expect(limited.length).toBeGreaterThanOrEqual(10);
    for (const operation of limited) {
      const responses = operation.responses as Record<string, { headers?: Headers }>;
      expect(Object.keys(responses[429]!.headers ?? {}).sort(), `${operation.operationId} 429`).toEqual(['RateLimit', 'RateLimit-Policy', 'Retry-After']);
      for (const status of Object.keys(responses).filter((s) => s.startsWith('2'))) {
        expect(responses[status]!.headers?.RateLimit, `${operation.operationId} ${status}`).toEqual({ $ref: '#/components/headers/RateLimit' });
        expect(responses[status]!.headers?.['RateLimit-Policy'], `${operation.operationId} ${status}`).toEqual({
          $ref: '#/components/headers/RateLimit-Policy',
        });
      }
    }
    // Public routes skip the limiter: no rate-limit headers there.
    expect(JSON.stringify(doc.paths['/healthz'])).not.toContain('RateLimit');
  });

  it('is what the committed client types were generated from', async () => {
    const generated = `// Generated by openapi-typescript from /openapi.json; regenerate with VC_UPDATE_OPENAPI_TYPES=1 pnpm test apps/service/src/openapi.int.test.ts\n${astToString(await openapiTS(doc as never))}`;
    if (process.env.VC_UPDATE_OPENAPI_TYPES === '1') await writeFile(TYPES_FILE, generated);
    expect(await readFile(TYPES_FILE, 'utf8')).toBe(generated);
  });
});

describe('a generated client', () => {
  it('drives config, create → join → end → cancel, and every reply matches its documented status and schema', async () => {
    const adminClient = await clientAs(admin(TENANT));
    const put = { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'contract-app', jitsiAppSecret: 'contract-secret-0123456789', branding: { name: 'Contract' } };
    const created = await adminClient.PUT(`${API}/config`, { body: put });
    expect(created.response.status).toBe(201);
    const etag = created.response.headers.get('etag')!;
    expect(etag).toBe(`"${created.data!.version}-0"`);
    const read = await adminClient.GET(`${API}/config`);
    expect(read.response.headers.get('etag')).toBe(etag);
    const replaced = await adminClient.PUT(`${API}/config`, { body: { ...put, jitsiAppSecret: undefined }, headers: { 'If-Match': etag } });
    expect(replaced.response.status).toBe(200);
    const stale = await adminClient.PUT(`${API}/config`, { body: put, headers: { 'If-Match': etag } });
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ type: 'https://virtual-care.dev/problems/precondition-failed', status: 412 });

    const doctor = await clientAs(practitioner(TENANT));
    const session = await doctor.POST(`${API}/sessions`, { body: { patientRef: 'Patient/c-1', scheduledStart: '2026-03-01T10:00:00Z' } });
    expect(session.response.status).toBe(201);
    const id = session.data!.id;
    await recordConsent(h, TENANT, 'Patient/c-1', 'active');
    const patientJoin = await (await clientAs(patient(TENANT, 'c-1'))).POST(`${API}/sessions/{id}/join`, { params: { path: { id } }, body: {} });
    expect(patientJoin.data!.joinUrl).toContain('?jwt=');
    expect((await doctor.POST(`${API}/sessions/{id}/join`, { params: { path: { id } }, body: { displayName: 'Dr C' } })).response.status).toBe(200);
    const ended = await doctor.POST(`${API}/sessions/{id}/end`, { params: { path: { id } } });
    expect(ended.data!.status).toBe('ended');
    const cancelEnded = await doctor.POST(`${API}/sessions/{id}/cancel`, { params: { path: { id } }, body: { reason: 'too late' } });
    expect(cancelEnded.response.status).toBe(409);

    const other = await doctor.POST(`${API}/sessions`, { body: { patientRef: 'Patient/c-2', scheduledStart: '2026-03-02T10:00:00Z' } });
    const cancelled = await doctor.POST(`${API}/sessions/{id}/cancel`, { params: { path: { id: other.data!.id } }, body: { reason: 'patient asked' } });
    expect(cancelled.data).toMatchObject({ status: 'cancelled', cancelReason: 'patient asked' });
    const page = await doctor.GET(`${API}/sessions`, { params: { query: { limit: 1 } } });
    expect(page.data!.items).toHaveLength(1);

    expect((await doctor.POST(`${API}/sessions`, { body: { patientRef: 'nobody', scheduledStart: 'soon' } })).response.status).toBe(400);
    expect((await doctor.GET(`${API}/sessions/{id}`, { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } })).response.status).toBe(404);
    expect((await doctor.GET(`${API}/config`)).response.status).toBe(403);
    const anonymous = createClient<paths>({ baseUrl: h.url });
    anonymous.use(contract);
    expect((await anonymous.GET(`${API}/sessions`, { params: { query: {} } })).response.status).toBe(401);
    expect((await anonymous.GET('/readyz')).data).toMatchObject({ status: 'ready' });

    expect(checked).toEqual([
      'putConfig 201',
      'getConfig 200',
      'putConfig 200',
      'putConfig 412',
      'createSession 201',
      'joinSession 200',
      'joinSession 200',
      'endSession 200',
      'cancelSession 409',
      'createSession 201',
      'cancelSession 200',
      'listSessions 200',
      'createSession 400',
      'getSession 404',
      'getConfig 403',
      'listSessions 401',
      'getReadiness 200',
    ]);
  });
});

describe('OPTIONS', () => {
  /** What `Allow` must list for a path: its documented methods, HEAD with GET, and OPTIONS (RFC 9110 §9.3.7). */
  const allowOf = (path: string) => {
    const methods = Object.keys(doc.paths[path]!).map((m) => m.toUpperCase());
    return ['GET', 'HEAD', 'POST', 'PUT', 'OPTIONS'].filter((m) => methods.includes(m) || (m === 'HEAD' && methods.includes('GET'))).join(', ');
  };
  const ID = '00000000-0000-4000-8000-000000000000';
  type Options = (path: string, init: { params: { path: { id: string } } }) => Promise<{ response: Response }>;
  const optionsOf = (client: ReturnType<typeof createClient<paths>>) => client.OPTIONS.bind(client) as unknown as Options;

  it('is documented on every path and answered there as documented: 204, Allow naming the methods, no body; 401 without a token under the API', async () => {
    const paths = Object.keys(doc.paths);
    expect(paths.length).toBeGreaterThanOrEqual(14);
    // A patient: OPTIONS does not check the roles of the path's methods (PUT /config is an admin's).
    const asPatient = optionsOf(await clientAs(patient(TENANT, 'options')));
    const anonymousClient = createClient<paths>({ baseUrl: h.url });
    anonymousClient.use(contract);
    const anonymous = optionsOf(anonymousClient);
    checked.length = 0;
    for (const path of paths) {
      expect(doc.paths[path]!.options, `OPTIONS ${path} is documented`).toBeDefined();
      const { response } = await asPatient(path, { params: { path: { id: ID } } });
      expect(response.status, `OPTIONS ${path}`).toBe(204);
      expect(response.headers.get('allow'), `OPTIONS ${path}`).toBe(allowOf(path));
      if (path.startsWith(API)) expect((await anonymous(path, { params: { path: { id: ID } } })).response.status, `anonymous OPTIONS ${path}`).toBe(401);
    }
    const ids = paths.map((path) => doc.paths[path]!.options!.operationId);
    expect(checked).toEqual(paths.flatMap((path, i) => [`${ids[i]} 204`, ...(path.startsWith(API) ? [`${ids[i]} 401`] : [])]));
    expect(allowOf(`${API}/sessions`)).toBe('GET, HEAD, POST, OPTIONS');
  });
});

describe('/docs', () => {
  it('serves the rendered reference from this origin only, without a token', async () => {
    const page = await h.call<string>('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const scripts = [...page.body.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts).toEqual(['/docs/assets/standalone.js', '/docs/assets/init.js']);
    for (const src of scripts) {
      const asset = await h.call<string>('GET', src);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toMatch(/javascript/);
    }
    expect((await h.call<string>('GET', '/docs/assets/init.js')).body).toContain("url: '/openapi.json'");
  });
});
