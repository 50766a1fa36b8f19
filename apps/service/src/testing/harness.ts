import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import { type AccessPolicyClient, type AccessPolicyStandIn, createAccessPolicyClient, startAccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createFhirClient, startFhirStandIn } from '@vc/integrations/fhir';
import { createJitsiProbe, type JitsiStandIn, startJitsiStandIn } from '@vc/integrations/jitsi';
import { createKms } from '@vc/integrations/kms';
import { connectEventStream, type EventStream } from '@vc/integrations/nats';
import { openTestDatabase } from '@vc/schema/testing';
import { SignJWT } from 'jose';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { type RunningService, startService, type StartOptions } from '../server';

/**
 * One service per test file on real PostgreSQL (its own database) and real NATS (its own stream and
 * subject prefix), with the stand-ins of FHIR, access-policy and Jitsi on loopback.
 */
export interface Caller {
  sub: string;
  tenant: string;
  roles: string[];
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

type FhirStandIn = Awaited<ReturnType<typeof startFhirStandIn>>;

export interface Harness {
  url: string;
  service: RunningService;
  db: Awaited<ReturnType<typeof openTestDatabase>>;
  /** Absent when started with `fhir: false` (files that never relay: indexing R4 costs seconds). */
  fhir: FhirStandIn | undefined;
  accessPolicy: AccessPolicyStandIn;
  consents: AccessPolicyClient;
  jitsi: JitsiStandIn;
  eventStream: EventStream | undefined;
  stream: { name: string; prefix: string; natsUrl: string };
  token(caller: Caller): Promise<string>;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: { as?: Caller; body?: unknown; headers?: Record<string, string> },
  ): Promise<Reply<T>>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  mode?: 'live' | 'shadow';
  /** A NATS of the test's own (outage tests); default the shared test server. */
  natsUrl?: string;
  start?: StartOptions;
  /** Start the FHIR stand-in (default true). */
  fhir?: boolean;
  /** Extra environment for loadConfig (wins over the harness' own). */
  env?: Record<string, string>;
  /** Collect every log line (level trace) here instead of discarding them. */
  logLines?: string[];
  /** The service asks this access-policy instead of the stand-in (transport failures); `consents` still writes to the stand-in. */
  accessPolicyUrl?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const natsUrl = options.natsUrl ?? process.env.VC_TEST_NATS_URL;
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run through `pnpm test`');
  const tag = randomUUID().replaceAll('-', '').slice(0, 12);
  const stream = { name: `VC_SVC_${tag}`, prefix: `t${tag}.`, natsUrl };
  const secret = randomUUID() + randomUUID();
  const kmsDir = await mkdtemp(join(tmpdir(), 'vc-svc-kms-'));
  const db = await openTestDatabase();
  const [fhir, accessPolicy, jitsi] = await Promise.all([
    options.fhir === false ? undefined : startFhirStandIn(),
    startAccessPolicyStandIn(),
    startJitsiStandIn(),
  ]);
  const config = loadConfig({
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_MODE: options.mode ?? 'live',
    VC_DATABASE_URL: db.url,
    VC_KMS: `local:${join(kmsDir, 'kms.json')}`,
    VC_AUTH_HS256_SECRET: secret,
    VC_NATS_STREAM: stream.name,
    VC_NATS_SUBJECT_PREFIX: stream.prefix,
    VC_LOG_LEVEL: process.env.VC_TEST_LOG_LEVEL ?? 'silent',
    // The Jitsi stand-in listens on plain http on loopback: allowed explicitly, as production never is.
    VC_OUTBOUND_ALLOW: '127.0.0.1/32',
    VC_OUTBOUND_ALLOW_HTTP: 'true',
    // Test files send hundreds of requests as one caller within a minute; rate-limit.int.test turns them on.
    VC_RATE_LIMIT_TENANT_PER_MIN: '0',
    VC_RATE_LIMIT_CALLER_PER_MIN: '0',
    ...options.env,
  });
  const eventStream = await connectEventStream({
    url: natsUrl,
    stream: stream.name,
    subjects: [`${stream.prefix}virtual_care.>`],
    reconnectWaitMs: 200,
    publishTimeoutMs: 2_000,
  });
  await eventStream.ensureStream();
  const service = await startService(
    config,
    {
      db: db.db,
      kms: await createKms(config.kms, { aws: config.kmsAws }),
      accessPolicy: createAccessPolicyClient({ baseUrl: options.accessPolicyUrl ?? accessPolicy.url, cacheTtlMs: 0 }),
      jitsiProbe: createJitsiProbe({ timeoutMs: 2_000, policy: config.outbound }),
      eventStream,
      fhir: fhir ? createFhirClient({ baseUrl: fhir.url, timeoutMs: 2_000 }) : undefined,
      logger: options.logLines ? createLogger('trace', { write: (line: string) => void options.logLines!.push(line) }) : createLogger(config.logLevel),
    },
    { relayOptions: { intervalMs: 50, backoff: { baseMs: 20, maxMs: 200 } }, ...options.start },
  );
  const token = (caller: Caller) =>
    new SignJWT({ tenant: caller.tenant, roles: caller.roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(caller.sub)
      .setAudience(DEFAULT_TOKEN_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
  return {
    url: service.url,
    service,
    db,
    fhir,
    accessPolicy,
    consents: createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 }),
    jitsi,
    eventStream,
    stream,
    token,
    async call<T>(method: string, path: string, opts: { as?: Caller; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.as) headers.authorization = `Bearer ${await token(opts.as)}`;
      if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(`${service.url}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Non-JSON replies (metrics) are returned as text.
      }
      return { status: res.status, body: body as T, headers: res.headers };
    },
    async close() {
      await service.close();
      await eventStream.close();
      await Promise.all([fhir?.close(), accessPolicy.close(), jitsi.close()]);
      const nc = await connect({ servers: natsUrl }).catch(() => undefined);
      if (nc) {
        await (await jetstreamManager(nc)).streams.delete(stream.name).catch(() => false);
        await nc.close();
      }
      await db.close();
      await rm(kmsDir, { recursive: true, force: true });
    },
  };
}

/** Every message of a stream, in order: subject, Nats-Msg-Id and the CloudEvent. */
export interface StreamMessage {
  subject: string;
  msgId: string | undefined;
  contentType: string | undefined;
  event: Record<string, unknown>;
}

export async function readStream(natsUrl: string, stream: string): Promise<Array<StreamMessage>> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const out: StreamMessage[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq += 1) {
      const msg = await jsm.streams.getMessage(stream, { seq });
      if (!msg) continue;
      out.push({
        subject: msg.subject,
        msgId: msg.header?.get('Nats-Msg-Id') || undefined,
        contentType: msg.header?.get('Content-Type') || undefined,
        event: msg.json<Record<string, unknown>>(),
      });
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Polls `probe` until it returns true (the relay is asynchronous); fails with `what` after `timeoutMs`. */
export async function eventually(probe: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const admin = (tenant: string): Caller => ({ sub: 'Practitioner/admin-1', tenant, roles: ['vc:admin'] });
export const practitioner = (tenant: string, id = 'p-1'): Caller => ({ sub: `Practitioner/${id}`, tenant, roles: ['vc:practitioner'] });
export const patient = (tenant: string, id = 'pt-1'): Caller => ({ sub: `Patient/${id}`, tenant, roles: ['vc:patient'] });

/** PUTs a working config (the Jitsi stand-in) for `tenant`. */
export async function configureTenant(h: Harness, tenant: string, extra: Record<string, unknown> = {}): Promise<void> {
  const reply = await h.call('PUT', '/api/v1/virtual-care/config', {
    as: admin(tenant),
    body: { jitsiServerUrl: h.jitsi.url, jitsiAppId: `${tenant}-app`, jitsiAppSecret: `secret-of-${tenant}-0123456789`, branding: { name: tenant }, ...extra },
  });
  if (reply.status >= 300) throw new Error(`configuring ${tenant} failed with ${reply.status}`);
}

/** Records a telehealth consent for a patient: `active` (granted), `revoked`, or `expired`. */
export async function recordConsent(h: Harness, tenant: string, patientRef: string, kind: 'active' | 'revoked' | 'expired'): Promise<void> {
  await h.consents.upsertConsent(tenant, {
    identifier: { system: 'urn:test:consent', value: randomUUID() },
    patientRef,
    status: kind === 'revoked' ? 'inactive' : 'active',
    periodStart: '2020-01-01T00:00:00.000Z',
    ...(kind === 'expired' ? { periodEnd: '2021-01-01T00:00:00.000Z' } : {}),
  });
}

/** Creates a session as the practitioner and returns its id. */
export async function scheduleSession(h: Harness, tenant: string, patientRef = 'Patient/pt-1'): Promise<string> {
  const reply = await h.call<{ id: string }>('POST', '/api/v1/virtual-care/sessions', {
    as: practitioner(tenant),
    body: { patientRef, scheduledStart: '2026-03-01T10:00:00Z', scheduledEnd: '2026-03-01T10:30:00Z' },
  });
  if (reply.status !== 201) throw new Error(`scheduling failed with ${reply.status}`);
  return reply.body.id;
}
