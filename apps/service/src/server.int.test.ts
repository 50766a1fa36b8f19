import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import type { AccessPolicyClient } from '@vc/integrations/access-policy';
import { createFhirClient, startFhirStandIn } from '@vc/integrations/fhir';
import { createJitsiProbe, startJitsiStandIn } from '@vc/integrations/jitsi';
import { createKms } from '@vc/integrations/kms';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { loadConfig } from './config';
import { createLogger } from './logger';
import { type RunningService, startService } from './server';

/**
 * The embedded default: the service on PGlite (migrated at start), no NATS, FHIR on loopback. Also the
 * graceful shutdown: a request in flight when close() is called still gets its reply.
 */
const API = '/api/v1/virtual-care';
const secret = 'pglite-test-secret-0123456789abcdef';
let dir: string;
let fhir: Awaited<ReturnType<typeof startFhirStandIn>>;
let jitsi: Awaited<ReturnType<typeof startJitsiStandIn>>;
let service: RunningService;
let entered: () => void;
const inConsentCheck = new Promise<void>((resolve) => (entered = resolve));
let release: () => void = () => undefined;

// A consent check that holds the request until the test lets it go, so "in flight" is a fact, not a race.
const accessPolicy: AccessPolicyClient = {
  async decideTelehealth() {
    const gate = new Promise<void>((resolve) => (release = resolve));
    entered();
    await gate;
    return { permitted: true, reason: 'granted' };
  },
  upsertConsent: () => Promise.reject(new Error('not used')),
  countConsents: () => Promise.resolve(0),
  findConsents: () => Promise.resolve([]),
};

const call = async (method: string, path: string, roles: string[], sub: string, body?: unknown) => {
  const token = await new SignJWT({ tenant: 'acme', roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience(DEFAULT_TOKEN_AUDIENCE)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const asPractitioner = (method: string, path: string, body?: unknown) => call(method, path, ['vc:practitioner'], 'Practitioner/1', body);
const asAdmin = (method: string, path: string, body?: unknown) => call(method, path, ['vc:admin'], 'Practitioner/9', body);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-svc-pglite-'));
  [fhir, jitsi] = await Promise.all([startFhirStandIn(), startJitsiStandIn()]);
  const config = loadConfig({
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_DATABASE_URL: 'pglite:memory',
    VC_KMS: `local:${join(dir, 'kms.json')}`,
    VC_AUTH_HS256_SECRET: secret,
    VC_LOG_LEVEL: 'silent',
    VC_OUTBOUND_ALLOW: '127.0.0.1/32',
    VC_OUTBOUND_ALLOW_HTTP: 'true',
  });
  service = await startService(
    config,
    {
      kms: await createKms(config.kms),
      accessPolicy,
      jitsiProbe: createJitsiProbe({ policy: config.outbound }),
      fhir: createFhirClient({ baseUrl: fhir.url }),
      logger: createLogger('silent'),
    },
    { relayOptions: { intervalMs: 20, backoff: { baseMs: 20, maxMs: 100 } } },
  );
});
afterAll(async () => {
  await service?.close();
  await Promise.all([fhir?.close(), jitsi?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the service on PGlite without NATS', () => {
  it('runs a session end to end: the Encounter is created, CloudEvents wait in the outbox', async () => {
    expect((await asAdmin('PUT', `${API}/config`, { jitsiServerUrl: jitsi.url, jitsiAppId: 'app', jitsiAppSecret: 'pglite-app-secret-123' })).status).toBe(201);
    const created = await asPractitioner('POST', `${API}/sessions`, { patientRef: 'Patient/1', scheduledStart: '2026-03-01T10:00:00Z' });
    const id = String(created.body.id);
    expect((await asPractitioner('POST', `${API}/sessions/${id}/join`, {})).status).toBe(200);
    expect((await asPractitioner('POST', `${API}/sessions/${id}/end`, {})).status).toBe(200);
    const deadline = Date.now() + 15_000;
    let session = await asPractitioner('GET', `${API}/sessions/${id}`);
    while (session.body.encounterRef === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      session = await asPractitioner('GET', `${API}/sessions/${id}`);
    }
    expect(session.body.encounterRef).toMatch(/^Encounter\//);
    expect(await fhir.encounterCount()).toBe(1);
    const pending = await queryRows<{ kind: string; n: number }>(
      service.deps.db,
      sql`select kind::text, count(*)::int as n from outbox where published_at is null group by kind`,
    );
    expect(pending).toEqual([{ kind: 'event', n: 5 }]);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting new connections and lets the request in flight finish with its reply', async () => {
    const created = await asPractitioner('POST', `${API}/sessions`, { patientRef: 'Patient/1', scheduledStart: '2026-03-02T10:00:00Z' });
    const inFlight = call('POST', `${API}/sessions/${String(created.body.id)}/join`, ['vc:patient'], 'Patient/1', {});
    await inConsentCheck;
    const closing = service.close();
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    release();
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.body.roomName).toBeDefined();
    await closing;
  });
});
