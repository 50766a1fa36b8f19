import { createServer } from 'node:net';
import { createKms } from '@vc/integrations/kms';
import { connectEventStream } from '@vc/integrations/nats';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from './exit-error';
import { endpointOf, explainDriverError, notBootstrappedError, unreachableError, withoutSecrets } from './driver-errors';

/** A loopback port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What the driver really throws when nothing listens (not a hand-made error object). */
async function thrownBy(attempt: () => Promise<unknown>): Promise<unknown> {
  try {
    await attempt();
  } catch (error) {
    return error;
  }
  throw new Error('expected the attempt to fail');
}

describe('an unreachable server is named by its variable and host:port, exit 2, never with its password', () => {
  const cases = [
    {
      variable: 'VC_DATABASE_URL',
      url: (port: number) => `postgres://vc:hunter2@127.0.0.1:${port}/virtual_care`,
      attempt: (url: string) => new pg.Client({ connectionString: url }).connect(),
    },
    {
      // localhost: Node 20 tries ::1 and 127.0.0.1 and throws an AggregateError of both.
      variable: 'VC_DATABASE_URL',
      url: (port: number) => `postgres://vc:hunter2@localhost:${port}/virtual_care`,
      attempt: (url: string) => new pg.Client({ connectionString: url }).connect(),
    },
    {
      variable: 'VC_LEGACY_DATABASE_URL',
      url: (port: number) => `mysql://legacy:hunter2@127.0.0.1:${port}/digital_communication`,
      attempt: (url: string) => mysql.createConnection(url),
    },
    {
      variable: 'VC_NATS_URL',
      url: (port: number) => `nats://127.0.0.1:${port}`,
      attempt: (url: string) => connectEventStream({ url, timeoutMs: 2_000 }),
    },
    {
      variable: 'VC_KMS_ENDPOINT',
      url: (port: number) => `http://127.0.0.1:${port}`,
      attempt: async (url: string) =>
        (await createKms('aws:alias/vc-test', { aws: { endpoint: url, region: 'us-east-1', credentials: 'stand-in' } })).encrypt(new Uint8Array([1]), {
          tenantId: 't',
        }),
    },
  ] as const;

  it.each(cases)('$variable ($url)', async ({ variable, url, attempt }) => {
    const port = await closedPort();
    const value = url(port);
    const error = await thrownBy(() => attempt(value));
    const explained = unreachableError(error, { [variable]: value, VC_LEGACY_EXPORT_DIR: '/somewhere' });
    const host = new URL(value).hostname;
    expect({ exitCode: exitCodeOf(explained), message: explained?.message }).toEqual({
      exitCode: 2,
      message: `cannot reach ${variable} at ${host}:${port} (connection refused): check the variable and that the server is up`,
    });
  });

  it('the same address in two variables names both', async () => {
    const port = await closedPort();
    const url = `mysql://u:hunter2@127.0.0.1:${port}/x`;
    const error = await thrownBy(() => mysql.createConnection(url));
    expect(unreachableError(error, { VC_LEGACY_DATABASE_URL: url, VC_PORTAL_DATABASE_URL: url })?.message).toMatch(
      /^cannot reach VC_LEGACY_DATABASE_URL or VC_PORTAL_DATABASE_URL at 127\.0\.0\.1:\d+ /,
    );
  });

  it('an error that is not about reaching a server is left alone', () => {
    expect(explainDriverError(new Error('duplicate key value violates unique constraint'), {})).toBeUndefined();
    expect(explainDriverError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), {})).toBeUndefined();
  });
});

describe('a target without the migration schema says that S0 has not run', () => {
  it.each([
    ['relation "vc_migration.runs" does not exist', true],
    ['relation "vc_migration.step_checkpoints" does not exist', true],
    ['relation "something_else" does not exist', false],
  ])('%s', (message, explained) => {
    const error = new Error('Failed query', { cause: Object.assign(new Error(message), { code: '42P01' }) });
    const result = notBootstrappedError(error);
    if (!explained) return expect(result).toBeUndefined();
    expect([exitCodeOf(result), result?.message]).toEqual([
      2,
      'the target database (VC_DATABASE_URL) has no migration state: phase s0 has not run on it. Run `pnpm migrator phase s0` first, then this command again',
    ]);
  });
});

describe('withoutSecrets', () => {
  it.each([
    ['connect to postgres://vc:hunter2@db:5432/x failed', 'connect to postgres://vc:***@db:5432/x failed'],
    ['mysql://root:p%40ss@127.0.0.1/dc and nats://a:b@n:4222', 'mysql://root:***@127.0.0.1/dc and nats://a:***@n:4222'],
    ['no url here', 'no url here'],
    ['https://host/path?x=1', 'https://host/path?x=1'],
  ])('%s', (text, expected) => expect(withoutSecrets(text)).toBe(expected));
});

describe('endpointOf', () => {
  it.each([
    ['VC_DATABASE_URL', 'postgres://u:p@db.internal/virtual_care', { host: 'db.internal', port: '5432' }],
    ['VC_DATABASE_URL', 'pglite:./.data/pg', undefined],
    ['VC_NATS_URL', '127.0.0.1:4223', { host: '127.0.0.1', port: '4223' }],
    ['VC_KMS_ENDPOINT', 'https://kms.example', { host: 'kms.example', port: '443' }],
  ] as const)('%s=%s', (name, value, expected) => expect(endpointOf(name, value)).toEqual(expected));
});
