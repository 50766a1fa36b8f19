/**
 * The servers under load, in a process of their own (so the load generator does not share their event
 * loop): the real service on PostgreSQL, and a bare Express app with routes of the same shape. The
 * access-policy stand-in runs in a third process (`BENCH_ROLE=access-policy`), as the real one is remote. Prints one
 * JSON line with URLs and seeded ids/tokens on stdout, then serves until SIGTERM.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessPolicyClient, startAccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createJitsiProbe, startJitsiStandIn } from '@vc/integrations/jitsi';
import { createKms } from '@vc/integrations/kms';
import { createDatabase, ensurePostgresDatabase, migrate } from '@vc/schema';
import { createLogger, loadConfig, startService } from '@vc/service';
import express from 'express';
import { SignJWT } from 'jose';
import pg from 'pg';

const API = '/api/v1/virtual-care';
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);

/** `BENCH_ROLE=access-policy`: only the access-policy stand-in, in a process of its own like the real service. */
async function accessPolicyOnly(): Promise<void> {
  const standIn = await startAccessPolicyStandIn();
  process.stdout.write(`${JSON.stringify({ url: standIn.url })}\n`);
  process.on('SIGTERM', () => {
    void standIn.close().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  const accessPolicyUrl = process.env.BENCH_ACCESS_POLICY_URL;
  if (!accessPolicyUrl) throw new Error('BENCH_ACCESS_POLICY_URL is not set');
  const serverUrl = process.env.VC_BENCH_POSTGRES_URL;
  if (!serverUrl) throw new Error('VC_BENCH_POSTGRES_URL is not set');
  const dbName = `vc_bench_service_${randomBytes(4).toString('hex')}`;
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${dbName}`;
  await ensurePostgresDatabase(dbUrl.toString());
  // The service's own pool size (VC_DATABASE_POOL_MAX, default 10) unless BENCH_POOL_MAX says otherwise.
  const poolMax = process.env.BENCH_POOL_MAX ?? process.env.VC_DATABASE_POOL_MAX ?? '10';
  const handle = await createDatabase(dbUrl.toString(), { max: Number(poolMax) });
  await migrate(handle);

  const kmsDir = await mkdtemp(join(tmpdir(), 'vc-bench-kms-'));
  const jitsi = await startJitsiStandIn();
  const secret = randomBytes(32).toString('hex');
  const config = loadConfig({
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_DATABASE_URL: dbUrl.toString(),
    VC_KMS: `local:${join(kmsDir, 'kms.json')}`,
    VC_AUTH_HS256_SECRET: secret,
    VC_LOG_LEVEL: 'warn',
    VC_DATABASE_POOL_MAX: poolMax,
    VC_OUTBOUND_ALLOW: '127.0.0.1/32',
    VC_OUTBOUND_ALLOW_HTTP: 'true',
    // The limiter runs (its cost is measured) but never answers 429 at bench rates.
    VC_RATE_LIMIT_TENANT_PER_MIN: '100000000',
    VC_RATE_LIMIT_CALLER_PER_MIN: '100000000',
  });
  const service = await startService(
    config,
    {
      db: handle.db,
      kms: await createKms(config.kms),
      // The production client: a 5 s decision cache per patient, as every join asks.
      accessPolicy: createAccessPolicyClient({ baseUrl: accessPolicyUrl }),
      jitsiProbe: createJitsiProbe({ policy: config.outbound }),
      eventStream: undefined,
      fhir: undefined,
      logger: createLogger('warn'),
    },
    { relay: false },
  );

  const token = (sub: string, roles: string[]) =>
    new SignJWT({ tenant: 'bench', roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      // The service's default VC_AUTH_AUDIENCE.
      .setAudience('virtual-care')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
  const practitionerToken = await token('Practitioner/bench', ['vc:practitioner']);
  const call = async (method: string, path: string, bearer: string, body?: unknown) => {
    const res = await fetch(`${service.url}${API}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`seeding ${method} ${path} failed with ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await call('PUT', '/config', await token('Practitioner/admin', ['vc:admin']), {
    jitsiServerUrl: jitsi.url,
    jitsiAppId: 'bench-app',
    jitsiAppSecret: randomBytes(24).toString('hex'),
  });
  const consents = createAccessPolicyClient({ baseUrl: accessPolicyUrl });
  const sessions: Array<{ id: string; patientToken: string }> = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    const patientRef = `Patient/bench-${i}`;
    const created = await call('POST', '/sessions', practitionerToken, { patientRef, scheduledStart: '2026-03-01T10:00:00Z' });
    const id = String(created.id);
    // The practitioner starts it, so the measured patient joins are the steady state of a running session.
    await call('POST', `/sessions/${id}/join`, practitionerToken, {});
    await consents.upsertConsent('bench', {
      identifier: { system: 'urn:bench', value: randomUUID() },
      patientRef,
      status: 'active',
      periodStart: '2020-01-01T00:00:00Z',
    });
    sessions.push({ id, patientToken: await token(patientRef, ['vc:patient']) });
  }

  // Statistics, as a live database has them: the tables were filled a moment ago, and until autovacuum
  // analyzes them (up to a minute later, in the middle of a row) the planner has none and plans the
  // session lookups as a scan of the tenant's sessions by another index instead of the primary key.
  const analyze = new pg.Client({ connectionString: dbUrl.toString() });
  await analyze.connect();
  await analyze.query('analyze');
  await analyze.end();

  const sample = await call('GET', `/sessions/${sessions[0]!.id}`, practitionerToken);
  const bare = express();
  bare.get('/bare/sessions/:id', (_req, res) => {
    res.json(sample);
  });
  bare.post('/bare/sessions/:id/join', express.json(), (_req, res) => {
    res.json({ joinUrl: 'https://meet.example/room?jwt=x', jwt: 'x', roomName: 'room', expiresAt: new Date().toISOString() });
  });
  const bareServer = await new Promise<Server>((resolve) => {
    const s = bare.listen(0, '127.0.0.1', () => resolve(s));
  });
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}`;

  process.stdout.write(`${JSON.stringify({ serviceUrl: service.url, bareUrl, practitionerToken, sessions })}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      await new Promise<void>((resolve) => bareServer.close(() => resolve()));
      await service.close();
      await jitsi.close();
      await handle.close();
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${pg.escapeIdentifier(dbName)} with (force)`);
      await admin.end();
      await rm(kmsDir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

(process.env.BENCH_ROLE === 'access-policy' ? accessPolicyOnly() : main()).catch((error: unknown) => {
  console.error('bench server failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
