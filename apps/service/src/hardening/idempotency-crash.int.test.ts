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
 * create's commit and its reply; after the claim timeout a restarted service gets the same key and
 * replays the stored reply instead of creating a second session.
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
});
