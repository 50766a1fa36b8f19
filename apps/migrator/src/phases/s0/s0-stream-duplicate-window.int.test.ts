import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEventStream } from '@vc/integrations/nats';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigratorJson } from '../../testing/run-cli';

/**
 * docs/design.md §7 "published from the outbox with `Nats-Msg-Id` = event id, so a relay restart never
 * duplicates an event" rests on the VIRTUAL_CARE stream's duplicate window. The service creates/updates the stream
 * with a 10-minute window ("longer than the relay's lease, so a row re-sent after a crashed relay's lease is still
 * de-duplicated", apps/service/src/server.ts); `migrator phase s0` — which §6 says creates/updates the same stream,
 * and which is safe to run again — sets it back to JetStream client's 2-minute default. Real nats-server -js and
 * PostgreSQL; the stream is first made exactly as the service's start makes it.
 */
const suffix = randomBytes(4).toString('hex');
const stream = `VC_WINDOW_${suffix.toUpperCase()}`;
const workStream = `VC_WINDOW_WORK_${suffix.toUpperCase()}`;
const prefix = `win${suffix}.`;
const SERVICE_WINDOW_MS = 10 * 60_000;

let db: TestDatabase;
let work: string;
let env: Record<string, string>;
let natsUrl: string;

/** What virtual-care-service does at start (apps/service/src/server.ts): created, updated or unchanged. */
async function ensureAsTheServiceDoes(): Promise<string> {
  const service = await connectEventStream({ url: natsUrl, stream, subjects: [`${prefix}virtual_care.>`], duplicateWindowMs: SERVICE_WINDOW_MS });
  try {
    return await service.ensureStream();
  } finally {
    await service.close();
  }
}

beforeAll(async () => {
  natsUrl = process.env.VC_TEST_NATS_URL!;
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
  [db, work] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'vc-s0-window-'))]);
  env = {
    VC_DATABASE_URL: db.url,
    VC_NATS_URL: natsUrl,
    VC_NATS_STREAM: stream,
    VC_NATS_WORK_STREAM: workStream,
    VC_NATS_SUBJECT_PREFIX: prefix,
    VC_MODE: 'shadow',
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
});

afterAll(async () => {
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('the VIRTUAL_CARE duplicate window S0 leaves', { timeout: 120_000 }, () => {
  it('phase s0 after the service started keeps the window the service relies on (no flip to 2 minutes)', async () => {
    expect(await ensureAsTheServiceDoes()).toBe('created');

    const s0 = await runMigratorJson<{ steps: Array<{ id: string; facts: { outcome?: string } }> }>(['phase', 's0'], env);
    expect(s0.code, s0.stderr).toBe(0);
    // S0 finds the stream as the service made it and leaves it so ...
    expect(s0.json.steps.find((s) => s.id === '0.2')?.facts.outcome).toBe('unchanged');
    // ... so the service's next start finds nothing to change either (its 10-minute window still in force).
    expect(await ensureAsTheServiceDoes()).toBe('unchanged');
  });
});
