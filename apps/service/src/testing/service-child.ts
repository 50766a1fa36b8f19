import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TOKEN_AUDIENCE } from '@vc/config';
import { queryRows } from '@vc/schema';
import { openTestDatabase } from '@vc/schema/testing';
import type { SQL } from 'drizzle-orm';
import { SignJWT } from 'jose';

/**
 * The service as real child processes on one test database, for tests that kill it: an in-process service cannot
 * die between a commit and its reply without taking the test with it. Each is the build of this test run
 * (apps/service/dist-test-<pid>, made by the suite's globalSetup, scripts/test-build.mjs) under plain node, as
 * production starts it: under tsx a start cost 3.0 CPU s against 1.1.
 */
function serviceBin(): string {
  const bin = process.env.VC_TEST_SERVICE_BIN;
  if (!bin || !existsSync(bin))
    throw new Error(
      `the service build of this test run (${bin ?? 'VC_TEST_SERVICE_BIN unset'}) is missing: run the tests through vitest.config.ts, whose globalSetup builds it`,
    );
  return bin;
}

export interface ServiceChildren {
  db: Awaited<ReturnType<typeof openTestDatabase>>;
  /** Starts a service; resolves with its URL once it logs that it listens. */
  start(extraEnv?: Record<string, string>): Promise<{ child: ChildProcess; url: string }>;
  token(tenant: string, sub: string, roles: string[]): Promise<string>;
  /** A JSON request to the API (`path` below `/api/v1/virtual-care`), with an Idempotency-Key when given. */
  call(url: string, method: string, path: string, bearer: string, body: unknown, key?: string): Promise<Response>;
  /** The `n` of a `select … as n` on the test database. */
  count(query: SQL): Promise<number>;
  close(): Promise<void>;
}

export async function serviceChildren(env: Record<string, string>): Promise<ServiceChildren> {
  const secret = randomUUID() + randomUUID();
  const db = await openTestDatabase();
  const kmsDir = await mkdtemp(join(tmpdir(), 'vc-child-kms-'));
  const children: ChildProcess[] = [];
  return {
    db,
    start(extraEnv = {}) {
      const child = spawn(process.execPath, [serviceBin()], {
        env: {
          PATH: process.env.PATH ?? '',
          PORT: '0',
          VC_LISTEN_HOST: '127.0.0.1',
          VC_DATABASE_URL: db.url,
          VC_KMS: `local:${join(kmsDir, 'kms.json')}`,
          VC_AUTH_HS256_SECRET: secret,
          VC_LOG_LEVEL: 'info',
          ...env,
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
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
    },
    token: (tenant, sub, roles) =>
      new SignJWT({ tenant, roles })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setAudience(DEFAULT_TOKEN_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret)),
    call: (url, method, path, bearer, body, key) =>
      fetch(`${url}/api/v1/virtual-care${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        body: JSON.stringify(body),
      }),
    count: async (query) => (await queryRows<{ n: number }>(db.db, query))[0]!.n,
    async close() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await db.close();
      await rm(kmsDir, { recursive: true, force: true });
    },
  };
}

/** Resolves with the signal or exit code once the child has exited. */
export const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | number | null>((done) =>
    child.exitCode !== null || child.signalCode !== null ? done(child.signalCode ?? child.exitCode) : child.on('exit', (code, signal) => done(signal ?? code)),
  );

/** What a crashed child exits with: killed by SIGKILL; under tsx, which runs the service in a child of its own, 128 + 9. */
export const KILLED = ['SIGKILL', 137];
