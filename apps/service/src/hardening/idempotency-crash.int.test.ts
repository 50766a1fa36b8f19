import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { openTestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { SignJWT } from 'jose';

/**
 * `Idempotency-Key` exactly once across a crash: the service (a real child process) dies between the
 * commit of a create, a join or an end and its reply; after the claim timeout a service gets the same key
 * and replays the stored reply instead of acting a second time.
 */
const ROOT = resolve(import.meta.dirname, '../../../..');
const BIN = join(ROOT, 'apps/service/src/bin.ts');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLAIM_TIMEOUT_MS = 300;
const secret = randomUUID() + randomUUID();
let db: Awaited<ReturnType<typeof openTestDatabase>>;
let kmsDir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
  kmsDir = await mkdtemp(join(tmpdir(), 'vc-crash-kms-'));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await db?.close();
  await rm(kmsDir, { recursive: true, force: true });
});

/** Starts `pnpm service` as a child; resolves with its URL once it logs that it listens. */
function startChild(extraEnv: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    PORT: '0',
    VC_LISTEN_HOST: '127.0.0.1',
    VC_DATABASE_URL: db.url,
    VC_KMS: `local:${join(kmsDir, 'kms.json')}`,
    VC_AUTH_HS256_SECRET: secret,
    VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS: String(CLAIM_TIMEOUT_MS),
    VC_LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const child = spawn(TSX, [BIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolveUrl, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const port = /"port":(\d+)/.exec(out)?.[1];
      if (port) resolveUrl({ child, url: `http://127.0.0.1:${port}` });
    });
    child.on('exit', (code, signal) => reject(new Error(`service exited before listening (${code ?? signal})`)));
  });
}

const tokenFor = (tenant: string, sub: string, roles: string[]) =>
  new SignJWT({ tenant, roles }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));

const exited = (child: ChildProcess) => new Promise<NodeJS.Signals | number | null>((done) => (child.exitCode !== null || child.signalCode !== null ? done(child.signalCode ?? child.exitCode) : child.on('exit', (code, signal) => done(signal ?? code))));

describe('an Idempotency-Key create across a crash between commit and reply', () => {
  it('creates exactly one session and replays its reply after the claim timeout', async () => {
    const token = await new SignJWT({ tenant: 'crash', roles: ['vc:practitioner'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('Practitioner/p-1').setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));
    const request = (url: string) =>
      fetch(`${url}/api/v1/virtual-care/sessions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'crash-key-1' },
        body: JSON.stringify({ patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z' }),
      });

    const first = await startChild({ VC_TEST_CRASH_BEFORE_REPLY: '1' });
    await expect(request(first.url)).rejects.toThrow();
    // tsx runs the service in a child of its own and exits 128 + 9 when that one is killed.
    expect(['SIGKILL', 137]).toContain(await exited(first.child));
    expect(await queryRows(db.db, sql`select id from virtual_sessions where tenant_id = 'crash'`)).toHaveLength(1);

    const second = await startChild({});
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const replay = await request(second.url);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const sessions = await queryRows<{ id: string }>(db.db, sql`select id from virtual_sessions where tenant_id = 'crash'`);
    expect(sessions).toHaveLength(1);
    expect(((await replay.json()) as { id: string }).id).toBe(sessions[0]!.id);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    // Two service processes start (tsx compiles each): slow on a loaded CI machine, not a timed assertion.
  }, 240_000);

  it('joins and ends exactly once: each replays its stored reply after the claim timeout, with no second participant join, audit row or event', async () => {
    const tenant = 'crash-transitions';
    const doctor = await tokenFor(tenant, 'Practitioner/p-2', ['vc:practitioner']);
    const call = (url: string, method: string, path: string, bearer: string, body: unknown, key?: string) =>
      fetch(`${url}/api/v1/virtual-care${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify(body),
      });
    const count = async (query: ReturnType<typeof sql>) => (await queryRows<{ n: number }>(db.db, query))[0]!.n;
    // One service that stays up, and one per crash (each dies on its first keyed transition).
    const [steady, crashJoin, crashEnd] = await Promise.all([startChild({}), startChild({ VC_TEST_CRASH_BEFORE_REPLY: '1' }), startChild({ VC_TEST_CRASH_BEFORE_REPLY: '1' })]);
    const configured = await call(steady.url, 'PUT', '/config', await tokenFor(tenant, 'Practitioner/admin', ['vc:admin']), {
      jitsiServerUrl: 'https://meet.example.org',
      jitsiAppId: 'crash-app',
      jitsiAppSecret: 'crash-secret-0123456789abcdef',
    });
    expect(configured.status).toBe(201);
    const created = await call(steady.url, 'POST', '/sessions', doctor, { patientRef: 'Patient/pt-2', scheduledStart: '2026-03-01T10:00:00Z' });
    const { id } = (await created.json()) as { id: string };

    await expect(call(crashJoin.url, 'POST', `/sessions/${id}/join`, doctor, { displayName: 'Dr Crash' }, 'join-key-1')).rejects.toThrow();
    expect(['SIGKILL', 137]).toContain(await exited(crashJoin.child));
    const joinCount = sql`select join_count as n from session_participants where session_id = ${id} and participant_ref = 'Practitioner/p-2'`;
    const joinedEvents = sql`select count(*)::int as n from outbox where aggregate_id = ${id} and subject = 'virtual_care.participant.joined'`;
    expect(await count(joinCount)).toBe(1);
    expect(await count(joinedEvents)).toBe(1);
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const joinReplay = await call(steady.url, 'POST', `/sessions/${id}/join`, doctor, { displayName: 'Dr Crash' }, 'join-key-1');
    expect(joinReplay.status).toBe(200);
    expect(joinReplay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await joinReplay.json()) as { jwt: string }).jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await count(joinCount)).toBe(1);
    expect(await count(joinedEvents)).toBe(1);

    await expect(call(crashEnd.url, 'POST', `/sessions/${id}/end`, doctor, {}, 'end-key-1')).rejects.toThrow();
    expect(['SIGKILL', 137]).toContain(await exited(crashEnd.child));
    const endedAudits = sql`select count(*)::int as n from session_audit_events where session_id = ${id} and action = 'session.ended'`;
    const endedEvents = sql`select count(*)::int as n from outbox where aggregate_id = ${id} and subject = 'virtual_care.session.ended'`;
    expect(await count(endedAudits)).toBe(1);
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const endReplay = await call(steady.url, 'POST', `/sessions/${id}/end`, doctor, {}, 'end-key-1');
    expect(endReplay.status).toBe(200);
    expect(endReplay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await endReplay.json()) as { id: string; status: string })).toMatchObject({ id, status: 'ended' });
    expect(await count(endedAudits)).toBe(1);
    expect(await count(endedEvents)).toBe(1);
    steady.child.kill('SIGTERM');
    expect(await exited(steady.child)).toBe(0);
  }, 240_000);
});
