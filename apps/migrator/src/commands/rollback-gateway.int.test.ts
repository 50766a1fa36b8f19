import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKongGateway, type KongConfig } from '@vc/integrations/kong';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeCli } from '../cli';
import { UsageError } from '../engine/errors';
import { exitCodeOf } from '../exit-error';
import { freeTextDigest } from '../ledger/canonical';
import pgDriver from 'pg';
import { LockHeld } from '../engine/errors';

/**
 * `migrator rollback s4` restores the routing where the cutover applied it: run without the Kong setting
 * of the cutover (the default decK file instead of the Admin API), it stops with exit 2 naming the
 * variables, and changes nothing. A snapshot it would restore that is corrupt or missing is refused alike.
 * In process, on a PostgreSQL test database.
 */
const PREVIOUS: KongConfig = { _format_version: '3.0', services: [{ name: 'digital-communication', url: 'http://legacy.internal:8080', routes: [] }] };
const APPLIED: KongConfig = {
  _format_version: '3.0',
  services: [...PREVIOUS.services, { name: 'virtual-care', url: 'http://virtual-care-service:8080', routes: [] }],
};

let pg: TestDatabase;
let handle: DatabaseHandle;
let work: string;

beforeAll(async () => {
  [pg, work] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'vc-rollback-'))]);
  handle = await createDatabase(pg.url, { max: 1 });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await handle?.close();
  await pg?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  await queryRows(handle.db, sql`truncate vc_migration.cutovers, vc_migration.step_checkpoints`);
  vi.stubEnv('VC_LOG_LEVEL', 'silent');
  vi.stubEnv('VC_DATABASE_URL', pg.url);
  vi.stubEnv('VC_KONG_ADMIN_URL', undefined);
});

/** A cutover of `acme` in force, as step 4.2 leaves it, applied through `gateway` (its snapshot `previous`, as stored). */
async function cutOverThrough(gateway: string, previous: unknown = PREVIOUS): Promise<void> {
  await queryRows(
    handle.db,
    sql`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing) values ('acme', 'cutover', ${previous === null ? null : JSON.stringify(previous)}::jsonb, ${JSON.stringify(APPLIED)}::jsonb) returning id`,
  );
  await queryRows(
    handle.db,
    sql`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, facts) values ('acme', 's4', '4.2', 'done', ${JSON.stringify({ gateway, applied: true })}::jsonb) returning step_id`,
  );
}

async function rollback(tenant = 'acme', ...more: string[]): Promise<unknown> {
  const argv = ['node', 'migrator', 'rollback', 's4', '--tenant', tenant, '--json', ...more];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await (await makeCli(argv)).parseAsync(argv).then(
      () => undefined,
      (e: unknown) => e,
    );
  } finally {
    out.mockRestore();
  }
}

describe('migrator rollback s4', () => {
  it('refuses (exit 2) when the cutover went through the Kong Admin API and VC_KONG_ADMIN_URL is unset, changing nothing', async () => {
    const file = join(work, 'refused.yaml');
    vi.stubEnv('VC_KONG_FILE', file);
    await cutOverThrough('admin:http://kong-admin.internal:8001');
    const error = await rollback();
    expect(error).toBeInstanceOf(UsageError);
    expect(exitCodeOf(error)).toBe(2);
    expect((error as UsageError).message).toContain('was applied through the Kong Admin API of VC_KONG_ADMIN_URL; this run would restore a decK file');
    expect((error as UsageError).message).toContain('Set VC_KONG_ADMIN_URL (expected the Kong Admin API URL, an http(s):// URL)');
    expect(existsSync(file)).toBe(false);
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers`)).toEqual([{ action: 'cutover' }]);
  });

  it('restores the routing through the same gateway as the cutover', async () => {
    const file = join(work, 'kong.yaml');
    vi.stubEnv('VC_KONG_FILE', file);
    await cutOverThrough(`file:${file}`);
    expect(await rollback()).toBeUndefined();
    expect(await readFile(file, 'utf8')).toContain('digital-communication');
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers order by created_at`)).toEqual([
      { action: 'cutover' },
      { action: 'rollback' },
    ]);
  });

  it('refuses a --tenant that names no tenant (exit 2, naming the ones the target has) instead of "nothing to roll back"', async () => {
    vi.stubEnv('VC_KONG_FILE', join(work, 'typo.yaml'));
    await cutOverThrough(`file:${join(work, 'typo.yaml')}`);
    const error = await rollback('acmee');
    expect(exitCodeOf(error)).toBe(2);
    expect((error as Error).message).toBe('unknown tenant "acmee": the target (no legacy source is configured, so its migration state) has acme');
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers`)).toEqual([{ action: 'cutover' }]);
  });

  it('takes the (tenant, s4) lock before deciding: while a phase s4 of the tenant holds it, exit 1 "another migrator run holds the lock", not nothing_to_roll_back', async () => {
    vi.stubEnv('VC_KONG_FILE', join(work, 'locked.yaml'));
    await queryRows(
      handle.db,
      sql`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('acme', 's3', '3.3', 'done') returning step_id`,
    );
    // The cutover run's own lock, held as `phase s4 --tenant acme` holds it while 4.1-4.3 run (no cutover recorded yet).
    const running = new pgDriver.Client({ connectionString: pg.url });
    await running.connect();
    try {
      await running.query(`select pg_advisory_lock(hashtext('vc_migration'), hashtext('acme:s4'))`);
      const error = await rollback();
      expect(error).toBeInstanceOf(LockHeld);
      expect(exitCodeOf(error)).toBe(1);
      expect((error as Error).message).toContain('another migrator run holds the lock of tenant acme phase s4');
    } finally {
      await running.end();
    }
    expect(existsSync(join(work, 'locked.yaml'))).toBe(false);
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers`)).toEqual([]);
  });
});

describe('rollback s4 with a corrupted routing snapshot', () => {
  it.each([
    ['an empty object (the snapshot lost its fields)', {}],
    ['a missing snapshot (previous_routing null)', null],
  ])('refuses %s (exit 2 naming the snapshot) and leaves Kong as it is', async (name, corrupted) => {
    const file = join(work, `kong-${name.length}.yaml`);
    vi.stubEnv('VC_KONG_FILE', file);
    await createKongGateway({ file }).apply(APPLIED);
    const before = await readFile(file, 'utf8');
    await cutOverThrough(`file:${file}`, corrupted);
    const error = await rollback();
    const kong = await readFile(file, 'utf8');
    expect({ exit: exitCodeOf(error), legacyRouted: kong.includes('digital-communication'), unchanged: kong === before }, String(error)).toEqual({
      exit: 2,
      legacyRouted: true,
      unchanged: true,
    });
    // Named as what it is: not a raw TypeError, nor "was already the cut-over routing" for a snapshot that is not there.
    expect((error as Error).message).toMatch(/snapshot/);
    expect((error as Error).message).toMatch(/runbooks\/rollback\.md/);
    expect((error as Error).message).not.toMatch(/Cannot read properties|was already the cut-over routing/);
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers`)).toEqual([{ action: 'cutover' }]);
  });
});

describe('rollback s4 after a decommission', () => {
  it('refuses (exit 2) to route traffic back to a legacy recorded as decommissioned; --force --reason rolls back, keeping the reason digest', async () => {
    const file = join(work, 'decommissioned.yaml');
    vi.stubEnv('VC_KONG_FILE', file);
    await createKongGateway({ file }).apply(APPLIED);
    const before = await readFile(file, 'utf8');
    await cutOverThrough(`file:${file}`);
    await queryRows(
      handle.db,
      sql`insert into vc_migration.cutovers (tenant_id, action, created_at) values ('acme', 'decommission', now() + interval '1 second') returning id`,
    );
    for (const more of [[], ['--dry-run'], ['--force']]) {
      const error = await rollback('acme', ...more);
      expect({ exit: exitCodeOf(error), unchanged: (await readFile(file, 'utf8')) === before }, String(error)).toEqual({ exit: 2, unchanged: true });
      expect((error as Error).message).toMatch(more[0] === '--force' ? /--force needs --reason/ : /tenant acme: legacy was recorded as decommissioned/);
    }
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers order by created_at`)).toEqual([
      { action: 'cutover' },
      { action: 'decommission' },
    ]);
    expect(await rollback('acme', '--force', '--reason', 'CHG-9 legacy host still up')).toBeUndefined();
    const rows = await queryRows<{ action: string; reason: string }>(
      handle.db,
      sql`select action, reason from vc_migration.cutovers where action = 'rollback'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.reason).toContain(freeTextDigest('CHG-9 legacy host still up'));
  });
});
