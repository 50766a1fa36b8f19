import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStream, connectWorkQueue } from '@vc/integrations/nats';
import { testPostgresUrl } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigratorJson } from '../../testing/run-cli';

/** S0 against a PostgreSQL server without the database yet, and a real nats-server -js. */
const suffix = randomBytes(4).toString('hex');
const dbName = `vc_s0_${suffix}`;
const stream = `VC_S0_${suffix.toUpperCase()}`;
const workStream = `VC_S0_WORK_${suffix.toUpperCase()}`;
const prefix = `s0${suffix}.`;

let work: string;
let env: Record<string, string>;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vc-s0-'));
  const natsUrl = process.env.VC_TEST_NATS_URL;
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
  env = {
    VC_DATABASE_URL: withDatabase(testPostgresUrl(), dbName),
    VC_NATS_URL: natsUrl,
    VC_NATS_STREAM: stream,
    VC_NATS_WORK_STREAM: workStream,
    VC_NATS_SUBJECT_PREFIX: prefix,
    VC_MODE: 'shadow',
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
});

afterAll(async () => {
  const admin = new pg.Client({ connectionString: testPostgresUrl() });
  await admin.connect();
  await admin.query(`drop database if exists ${pg.escapeIdentifier(dbName)} with (force)`);
  await admin.end();
  await rm(work, { recursive: true, force: true });
});

type S0Summary = { status: string; steps: Array<{ id: string; status: string; written: number }> };

describe('phase s0', () => {
  it('creates the missing database, applies every migration and creates both streams; a second run changes nothing', async () => {
    const first = await runMigratorJson<S0Summary>(['phase', 's0'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.steps.map((s) => [s.id, s.status, s.written > 0])).toEqual([
      ['0.1', 'done', true],
      ['0.2', 'done', true],
      ['0.3', 'done', false],
    ]);
    const second = await runMigratorJson<S0Summary>(['phase', 's0'], env);
    expect(second.json.steps.map((s) => [s.id, s.status, s.written])).toEqual([
      ['0.1', 'done', 0],
      ['0.2', 'done', 0],
      ['0.3', 'done', 0],
    ]);
    const client = new pg.Client({ connectionString: env.VC_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query(`select tenant_id, step_id, facts from vc_migration.step_checkpoints where phase = 's0' order by step_id`);
      expect(rows.map((r: { step_id: string; facts: Record<string, unknown> }) => [r.step_id, r.facts])).toEqual([
        ['0.1', { database: { kind: 'postgres', created: false, migrationsApplied: 0, migrationsTotal: expect.any(Number) } }],
        ['0.2', { stream, outcome: 'unchanged', workStream, workOutcome: 'unchanged' }],
        ['0.3', { mode: 'shadow', shadow: true }],
      ]);
    } finally {
      await client.end();
    }
    const events = await connectEventStream({ url: env.VC_NATS_URL!, stream, subjects: [`${prefix}virtual_care.>`] });
    try {
      expect(await events.ensureStream()).toBe('unchanged');
    } finally {
      await events.close();
    }
    // S0 made the work queue: present, with work-queue retention (ensureStream throws on any other).
    const queue = await connectWorkQueue({ url: env.VC_NATS_URL!, subjectPrefix: prefix, stream: workStream });
    try {
      expect(await queue.ensureStream()).toBe('unchanged');
    } finally {
      await queue.close();
    }
  }, 300_000);

  it('refuses a target database a newer build migrated: exit 2 naming VC_DATABASE_URL, nothing applied', async () => {
    const client = new pg.Client({ connectionString: env.VC_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', 4102444800000)`);
      const refused = await runMigratorJson<S0Summary>(['phase', 's0'], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('VC_DATABASE_URL');
      expect(refused.stderr).toContain('does not know');
    } finally {
      await client.query(`delete from drizzle.__drizzle_migrations where hash = 'from-a-newer-build'`);
      await client.end();
    }
  }, 300_000);
});
