import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from './errors';
import { exitCodeOf } from '../exit-error';
import { runPhaseHere } from '../testing/in-process-phase';
import type { Phase, Step } from './types';

/**
 * A setting that slipped past a command's `requires` and is only found missing when a step asks for its
 * client: bad config (exit 2), not a failed step (exit 1) to resume.
 */
let pg: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  pg = await createTestDatabase();
  handle = await createDatabase(pg.url, { max: 2 });
});
afterAll(async () => {
  await handle?.close();
  await pg?.drop();
});

const accessPolicyStep: Step = {
  id: 'x.1',
  title: 'asks for access-policy',
  async run(ctx) {
    await ctx.services.accessPolicy();
  },
};

function run(step: Step): Promise<unknown> {
  const phase: Phase = { id: 's3', title: 'probe', steps: [step] };
  const options = { dryRun: false, batchSize: 10, concurrency: 1, asOf: new Date('2026-01-01T00:00:00Z'), maxRejectRate: 0.01 };
  // Only the target: the access-policy settings are the ones missing.
  return runPhaseHere({ VC_DATABASE_URL: pg.url }, { phase, tenants: ['acme'], options });
}

describe('a step that finds a setting missing', () => {
  it('ends the run with exit 2 naming the variable and its form, keeping why on the step so `status` says what stopped it', async () => {
    const error = await run(accessPolicyStep).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeOf(error)).toBe(2);
    expect((error as UsageError).message).toBe(
      'VC_ACCESS_POLICY_URL (expected the access-policy base URL, an http(s):// URL) is not set: needed by the access-policy client',
    );
    expect(await queryRows(handle.db, sql`select step_id, error from vc_migration.step_checkpoints where status = 'failed'`)).toEqual([
      { step_id: 'x.1', error: (error as UsageError).message },
    ]);
  });

  it('an ordinary error still fails the step (exit 1 territory), recorded for the next run to resume', async () => {
    const summary = await run({ id: 'x.2', title: 'fails', run: async () => Promise.reject(new Error('legacy row 7 unreadable')) });
    expect(summary).toMatchObject({ status: 'failed', errors: [{ tenant: 'acme', step: 'x.2', message: 'legacy row 7 unreadable' }] });
  });
});
