import { createDatabase, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockHeld } from './errors';
import { lockTenantPhase, type Lock } from './lock';

/**
 * The advisory locks on real PostgreSQL, two connections as two processes: key ranges of one tenant run side
 * by side, a whole-tenant run of the phase excludes them and they exclude it, and a range excludes itself.
 */
let target: TestDatabase;
let one: DatabaseHandle;
let two: DatabaseHandle;

beforeAll(async () => {
  target = await createTestDatabase();
  [one, two] = await Promise.all([createDatabase(target.url), createDatabase(target.url)]);
});

afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
  await target?.drop();
});

async function refused(take: Promise<Lock>): Promise<string> {
  const error = await take.then(
    async (lock) => {
      await lock.release();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LockHeld);
  return (error as Error).message;
}

describe('tenant and key-range locks', () => {
  it('lets ranges of one tenant run at once, refuses the same range twice and a whole-tenant run among them', async () => {
    const first = await lockTenantPhase(one, 'acme', 's1', 'p/1.1/0000');
    const second = await lockTenantPhase(two, 'acme', 's1', 'p/1.1/0001');
    expect(await refused(lockTenantPhase(two, 'acme', 's1', 'p/1.1/0000'))).toContain('tenant acme phase s1 range p/1.1/0000');
    expect(await refused(lockTenantPhase(two, 'acme', 's1'))).toContain('the lock of tenant acme phase s1');
    // Another tenant, or another phase of this one, is not held.
    await (await lockTenantPhase(two, 'globex', 's1')).release();
    await (await lockTenantPhase(two, 'acme', 's3')).release();
    await first.release();
    expect(await refused(lockTenantPhase(one, 'acme', 's1'))).toContain('tenant acme phase s1');
    await second.release();
    const whole = await lockTenantPhase(one, 'acme', 's1');
    expect(await refused(lockTenantPhase(two, 'acme', 's1', 'p/1.4/0000'))).toContain('range p/1.4/0000');
    await whole.release();
    // Everything released: a range and then the whole tenant can be taken again.
    await (await lockTenantPhase(two, 'acme', 's1', 'p/1.4/0000')).release();
    await (await lockTenantPhase(two, 'acme', 's1')).release();
  });

  it('a refused range leaves the shared tenant lock it took released', async () => {
    const range = await lockTenantPhase(one, 'initech', 's1', 'p/1.1/0000');
    expect(await refused(lockTenantPhase(two, 'initech', 's1', 'p/1.1/0000'))).toContain('range');
    await range.release();
    // Had the refused attempt kept its shared lock on the tenant, this exclusive one would be refused.
    await (await lockTenantPhase(one, 'initech', 's1')).release();
  });
});
