import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKongGateway, type KongConfig } from '@vc/integrations/kong';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeCli } from '../cli';
import { exitCodeOf } from '../exit-error';

/**
 * `migrator rollback s4` when the routing snapshotted before the cutover (cutovers.previous_routing) is
 * corrupted (`{}`) or missing (null), during incident response: it refuses with exit 2 naming the snapshot
 * as what it is (not a raw TypeError, nor "already the cut-over routing") and pointing at runbooks/rollback.md,
 * changing neither Kong nor the records. In process, on a PostgreSQL test database, through the decK-file gateway.
 */
const PREVIOUS: KongConfig = {
  _format_version: '3.0',
  services: [
    { name: 'digital-communication', url: 'http://legacy.internal:8080', routes: [{ name: 'dc', paths: ['/api/v1/digital-communication'] }] },
    { name: 'patient-portal', url: 'http://portal.internal:8080', routes: [{ name: 'portal', paths: ['/api/v1/portal'] }] },
  ],
};
const APPLIED: KongConfig = {
  _format_version: '3.0',
  services: [...PREVIOUS.services, { name: 'virtual-care', url: 'http://virtual-care-service:8080', routes: [] }],
};

let pg: TestDatabase;
let handle: DatabaseHandle;
let work: string;

beforeAll(async () => {
  [pg, work] = await Promise.all([createTestDatabase(), mkdtemp(join(tmpdir(), 'vc-rollback-snapshot-'))]);
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

async function rollback(): Promise<unknown> {
  const argv = ['node', 'migrator', 'rollback', 's4', '--tenant', 'acme', '--json'];
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

describe('rollback s4 with a corrupted routing snapshot', () => {
  it.each([
    ['an empty object (the snapshot lost its fields)', {}],
    ['a missing snapshot (previous_routing null)', null],
  ])('refuses %s (exit 2 naming the snapshot) and leaves Kong as it is', async (name, corrupted) => {
    const file = join(work, `kong-${name.length}.yaml`);
    vi.stubEnv('VC_KONG_FILE', file);
    await createKongGateway({ file }).apply(APPLIED);
    await queryRows(
      handle.db,
      sql`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing) values ('acme', 'cutover', ${corrupted === null ? null : JSON.stringify(corrupted)}::jsonb, ${JSON.stringify(APPLIED)}::jsonb) returning id`,
    );
    await queryRows(
      handle.db,
      sql`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, facts) values ('acme', 's4', '4.2', 'done', ${JSON.stringify({ gateway: `file:${file}`, applied: true })}::jsonb) returning step_id`,
    );
    const error = await rollback();
    const kong = await readFile(file, 'utf8');
    expect(
      { exit: exitCodeOf(error), legacyRouted: kong.includes('digital-communication'), portalRouted: kong.includes('patient-portal') },
      String(error),
    ).toEqual({
      exit: 2,
      legacyRouted: true,
      portalRouted: true,
    });
    // Named as what it is: not a raw TypeError, nor "was already the cut-over routing" for a snapshot that is not there.
    expect((error as Error).message).toMatch(/snapshot/);
    expect((error as Error).message).toMatch(/runbooks\/rollback\.md/);
    expect((error as Error).message).not.toMatch(/Cannot read properties|was already the cut-over routing/);
    expect(await queryRows(handle.db, sql`select action from vc_migration.cutovers`)).toEqual([{ action: 'cutover' }]);
  });
});
