import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJitsiStandIn } from '@vc/integrations/jitsi';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { admin, type Harness, patient, practitioner, recordConsent, scheduleSession, startHarness } from '../testing/harness';

const API = '/api/v1/virtual-care';
const SECRET = 'a-very-secret-app-secret-4242';
let h: Harness;
const logLines: string[] = [];

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false }, logLines });
});
afterAll(async () => {
  await h?.close();
});

const put = (tenant: string, body: Record<string, unknown>) => h.call('PUT', `${API}/config`, { as: admin(tenant), body });

describe('PUT /config and GET /config', () => {
  it('creates the config (201), encrypts the secret through KMS and never returns it', async () => {
    const created = await put('acme', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'acme-app', jitsiAppSecret: SECRET, branding: { color: '#003366' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tenantId: 'acme',
      jitsiServerUrl: h.jitsi.url,
      jitsiAppId: 'acme-app',
      hasAppSecret: true,
      branding: { color: '#003366' },
      billing: { placeOfService: '02', modifier: '95' },
      enabled: true,
      fhirEraStart: null,
      lastConnectionTest: null,
      version: 1,
    });
    const read = await h.call('GET', `${API}/config`, { as: admin('acme') });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(JSON.stringify(read.body)).not.toContain(SECRET);
    const [row] = await queryRows<{ credentials_ciphertext: string }>(
      h.db.db,
      sql`select credentials_ciphertext from tenant_virtual_care_configs where tenant_id = 'acme'`,
    );
    expect(row!.credentials_ciphertext).not.toContain(SECRET);
    expect(Buffer.from(row!.credentials_ciphertext, 'base64').toString('latin1')).not.toContain(SECRET);
  });

  it('updates (200) keeping the stored secret when none is given, with billing and FHIR era', async () => {
    await put('keep', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'keep-app', jitsiAppSecret: SECRET });
    const [before] = await queryRows<{ c: string }>(h.db.db, sql`select credentials_ciphertext as c from tenant_virtual_care_configs where tenant_id = 'keep'`);
    const updated = await put('keep', {
      jitsiServerUrl: h.jitsi.url,
      jitsiAppId: 'keep-app-2',
      branding: null,
      billing: { placeOfService: '10', modifier: null },
      fhirEraStart: '2025-01-01T00:00:00Z',
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      jitsiAppId: 'keep-app-2',
      billing: { placeOfService: '10', modifier: null },
      fhirEraStart: '2025-01-01T00:00:00.000Z',
      version: 2,
    });
    const [after] = await queryRows<{ c: string }>(h.db.db, sql`select credentials_ciphertext as c from tenant_virtual_care_configs where tenant_id = 'keep'`);
    expect(after!.c).toBe(before!.c);
  });

  it.each([
    [{ jitsiServerUrl: 'ftp://meet', jitsiAppId: 'a', jitsiAppSecret: SECRET }, 'body.jitsiServerUrl'],
    [{ jitsiServerUrl: 'not a url', jitsiAppId: 'a', jitsiAppSecret: SECRET }, 'body.jitsiServerUrl'],
    [{ jitsiServerUrl: 'https://meet.test/acme/clinic/', jitsiAppId: 'a', jitsiAppSecret: SECRET }, 'body.jitsiServerUrl'],
    [{ jitsiServerUrl: 'https://meet.test', jitsiAppSecret: SECRET }, 'body.jitsiAppId'],
    [{ jitsiServerUrl: 'https://meet.test', jitsiAppId: 'a', jitsiAppSecret: 'short' }, 'body.jitsiAppSecret'],
    [{ jitsiServerUrl: 'https://meet.test', jitsiAppId: 'a' }, 'body.jitsiAppSecret'],
    [
      { jitsiServerUrl: 'https://meet.test', jitsiAppId: 'a', jitsiAppSecret: SECRET, billing: { placeOfService: '11', modifier: null } },
      'body.billing.placeOfService',
    ],
    [
      { jitsiServerUrl: 'https://meet.test', jitsiAppId: 'a', jitsiAppSecret: SECRET, billing: { placeOfService: '02', modifier: 'GT' } },
      'body.billing.modifier',
    ],
  ])('answers 400 naming the field for %o, without echoing the secret', async (body, field) => {
    const reply = await put('fresh', body);
    expect(reply.status).toBe(400);
    expect((reply.body.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
    expect(JSON.stringify(reply.body)).not.toContain(SECRET);
  });

  it('answers 404 for a tenant without config, and 403 for practitioners and patients', async () => {
    expect((await h.call('GET', `${API}/config`, { as: admin('nobody') })).status).toBe(404);
    for (const caller of [practitioner('acme'), patient('acme')]) {
      expect((await h.call('GET', `${API}/config`, { as: caller })).status).toBe(403);
      expect((await h.call('PUT', `${API}/config`, { as: caller, body: {} })).status).toBe(403);
      expect((await h.call('POST', `${API}/config/test-connection`, { as: caller, body: {} })).status).toBe(403);
    }
  });
});

describe('POST /config/test-connection', () => {
  it('passes against a working Jitsi deployment with a token that verifies, and stores the result', async () => {
    await put('probe-ok', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'ok-app', jitsiAppSecret: SECRET });
    const reply = await h.call<{ ok: boolean; checks: Array<{ id: string; ok: boolean }> }>('POST', `${API}/config/test-connection`, { as: admin('probe-ok') });
    expect(reply.status).toBe(200);
    expect(reply.body.ok).toBe(true);
    expect(reply.body.checks.filter((c) => ['reachable', 'config_js', 'external_api_js', 'token_verifies'].includes(c.id)).every((c) => c.ok)).toBe(true);
    const read = await h.call('GET', `${API}/config`, { as: admin('probe-ok') });
    expect(read.body.lastConnectionTest).toEqual(reply.body);
    expect(JSON.stringify(reply.body)).not.toContain(SECRET);
  });

  it('fails a deployment that does not serve external_api.js, and says which check failed', async () => {
    const broken = await startJitsiStandIn({ broken: true });
    try {
      await put('probe-broken', { jitsiServerUrl: broken.url, jitsiAppId: 'b-app', jitsiAppSecret: SECRET });
      const reply = await h.call<{ ok: boolean; checks: Array<{ id: string; ok: boolean }> }>('POST', `${API}/config/test-connection`, {
        as: admin('probe-broken'),
      });
      expect(reply.body.ok).toBe(false);
      expect(reply.body.checks.find((c) => c.id === 'external_api_js')?.ok).toBe(false);
      expect(reply.body.checks.find((c) => c.id === 'token_verifies')?.ok).toBe(true);
    } finally {
      await broken.close();
    }
  });
});

describe('If-Match on PUT /config', () => {
  const withIfMatch = (
    tenant: string,
    ifMatch: string,
    body: Record<string, unknown> = { jitsiServerUrl: h.jitsi.url, jitsiAppId: `${tenant}-app`, jitsiAppSecret: SECRET },
  ) => h.call('PUT', `${API}/config`, { as: admin(tenant), body, headers: { 'if-match': ifMatch } });

  it('refuses any If-Match (even *) while there is no config, and a malformed one with 400 naming the header', async () => {
    expect((await withIfMatch('im-new', '*')).status).toBe(412);
    expect((await withIfMatch('im-new', '"1-0"')).status).toBe(412);
    const malformed = await withIfMatch('im-new', 'version 1');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ errors: [{ field: 'header.If-Match' }] });
    expect((await h.call('GET', `${API}/config`, { as: admin('im-new') })).status).toBe(404);
  });

  it('accepts the current tag or *, refuses a weak or stale one, and the tag moves with test-connection', async () => {
    const created = await put('im-flow', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'im-app', jitsiAppSecret: SECRET });
    const tag = created.headers.get('etag')!;
    expect(tag).toBe('"1-0"');
    expect((await withIfMatch('im-flow', `W/${tag}`)).status).toBe(412);
    const second = await withIfMatch('im-flow', `"0-0", ${tag}`);
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe('"2-0"');
    expect((await withIfMatch('im-flow', tag)).status).toBe(412);
    expect((await withIfMatch('im-flow', '*')).status).toBe(200);
    await h.call('POST', `${API}/config/test-connection`, { as: admin('im-flow') });
    const read = await h.call<{ version: number; lastConnectionTest: { testedAt: string } }>('GET', `${API}/config`, { as: admin('im-flow') });
    expect(read.headers.get('etag')).toBe(`"3-${Date.parse(read.body.lastConnectionTest.testedAt)}"`);
    expect((await withIfMatch('im-flow', '"3-0"')).status).toBe(412);
  });

  it('lets exactly one of two admins racing with the same tag write; the other gets 412', async () => {
    const tag = (await put('im-race', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'im-app', jitsiAppSecret: SECRET })).headers.get('etag')!;
    const replies = await Promise.all(['first', 'second'].map((who) => withIfMatch('im-race', tag, { jitsiServerUrl: h.jitsi.url, jitsiAppId: `app-${who}` })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 412]);
    const read = await h.call<{ version: number; jitsiAppId: string }>('GET', `${API}/config`, { as: admin('im-race') });
    expect(read.body.version).toBe(2);
    expect(read.body.jitsiAppId).toBe((replies.find((r) => r.status === 200)!.body as { jitsiAppId: string }).jitsiAppId);
  });
});

describe('operational endpoints', () => {
  it('answers /healthz, /readyz with database and NATS up, and /metrics in Prometheus format', async () => {
    expect((await h.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await h.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', draining: false, checks: { database: 'ok', nats: 'ok' }, mode: 'live' });
    const metrics = await h.call<string>('GET', '/metrics');
    expect(metrics.body).toContain('vc_http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('route="/api/v1/virtual-care/config"');
    // Config calls write no outbox rows, so nothing is pending in this file.
    expect(metrics.body).toMatch(/^vc_outbox_pending 0$/m);
  });

  it('serves /openapi.json generated from the request schemas', async () => {
    const doc = await h.call<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>>;
      components: { schemas: Record<string, { required?: string[] }> };
    }>('GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([`${API}/sessions`, `${API}/sessions/{id}/join`, `${API}/config`, `${API}/config/test-connection`, '/readyz']),
    );
    const createBody = doc.body.paths[`${API}/sessions`]!.post!.requestBody!.content['application/json']!.schema.$ref;
    expect(createBody).toBe('#/components/schemas/CreateSessionRequest');
    expect(doc.body.components.schemas.CreateSessionRequest!.required).toEqual(['patientRef', 'scheduledStart']);
    const joinParams = (doc.body.paths[`${API}/sessions/{id}/join`]!.post as unknown as { parameters: Array<{ name: string; in: string }> }).parameters;
    expect(joinParams.map((p) => `${p.in}:${p.name}`)).toEqual(['path:id', 'header:Idempotency-Key']);
  });

  it('answers unknown routes with a 404 problem and sets helmet headers', async () => {
    const reply = await h.call('GET', `${API}/nothing-here`, { as: admin('acme') });
    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('logs', () => {
  it('carry requests and outcomes but no secret, token, join URL, patient ref or display name', async () => {
    await put('logged', { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'log-app', jitsiAppSecret: SECRET });
    await recordConsent(h, 'logged', 'Patient/phi-77', 'active');
    const id = await scheduleSession(h, 'logged', 'Patient/phi-77');
    const joined = await h.call<{ jwt: string }>('POST', `${API}/sessions/${id}/join`, { as: patient('logged', 'phi-77'), body: { displayName: 'Alice Phi' } });
    expect(joined.status).toBe(200);
    await h.call('GET', `${API}/sessions?patientRef=Patient/phi-77`, { as: practitioner('logged') });
    await h.call('POST', `${API}/config/test-connection`, { as: admin('logged') });
    await h.call('POST', `${API}/sessions`, { as: practitioner('logged'), body: { patientRef: 'Patient/phi-77', scheduledStart: 'bad' } });
    const text = logLines.join('');
    expect(text).toContain(`"path":"${API}/sessions/${id}/join"`);
    for (const secretOrPhi of [SECRET, joined.body.jwt, 'Patient/phi-77', 'Alice Phi', 'Bearer ']) expect(text).not.toContain(secretOrPhi);
  });
});
