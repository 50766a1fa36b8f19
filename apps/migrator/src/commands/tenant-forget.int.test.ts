import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closestFirst } from '../engine/known-tenants';
import { runLockKey } from '../engine/lock';
import { freeTextDigest } from '../ledger/canonical';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator } from '../testing/run-cli';

/**
 * Tenants are what legacy says: a mistyped --tenant is refused before anything is written, listing the
 * known tenants closest first; `tenant forget` removes the state an older release left for a phantom,
 * records who and why, and refuses a tenant whose data was really migrated.
 */
const AS_OF = '2026-11-01T00:00:00Z';
let target: CsvTarget;
let client: pg.Client;
let env: Record<string, string>;

beforeAll(async () => {
  target = await openCsvTarget('vc-tenants-', { tenants: 2, sessions: 20, auditPerSession: 2, seed: 5, asOf: AS_OF });
  ({ client, env } = target);
});

afterAll(async () => target?.close());

const stateOf = async (tenant: string) =>
  (
    await client.query(
      `select (select count(*)::int from vc_migration.step_checkpoints where tenant_id = $1) as checkpoints, (select count(*)::int from vc_migration.runs where tenant_id = $1 and phase <> 'forget') as runs`,
      [tenant],
    )
  ).rows[0];

describe('tenants come from legacy', () => {
  it('orders the known tenants by closeness to a typo', () => {
    expect(closestFirst('globx', ['acme', 'globex', 'initech'])[0]).toBe('globex');
    expect(closestFirst('ACMEE', ['globex', 'acme'])).toEqual(['acme', 'globex']);
  });

  it('a mistyped --tenant is exit 2 listing the known tenants, closest first, and leaves no state', async () => {
    const known = Object.keys(target.expected.tenants).sort();
    const typo = `${known[1]}x`;
    const result = await runMigrator(['phase', 's1', '--tenant', typo, '--as-of', AS_OF], env);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`unknown tenant "${typo}": the legacy source (csv:${join(target.work, 'csv')}) has ${known[1]}, ${known[0]}`);
    expect(await stateOf(typo)).toEqual({ checkpoints: 0, runs: 0 });
  }, 240_000);

  it('enqueue phase s1 with a mistyped --tenant is exit 2 listing the known tenants, closest first, and stores no plan', async () => {
    const known = Object.keys(target.expected.tenants).sort();
    const typo = `${known[0]}e`;
    // Refused before the work queue is opened: no nats-server listens on port 9.
    const result = await runMigrator(['enqueue', 'phase', 's1', '--tenant', known[1]!, typo, '--as-of', AS_OF], { ...env, VC_NATS_URL: 'nats://127.0.0.1:9' });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`unknown tenant "${typo}": the legacy source (csv:${join(target.work, 'csv')}) has ${known[0]}, ${known[1]}`);
    expect((await client.query('select count(*)::int as n from vc_migration.plans')).rows[0].n).toBe(0);
  }, 240_000);

  it('a phase without a legacy source is refused naming the variables to set, not run for the tenants S1 left', async () => {
    await client.query(`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('phantom', 's1', '1.1', 'done')`);
    const { VC_LEGACY_EXPORT_DIR: _dir, ...noLegacy } = env;
    const portal = { VC_PORTAL_DATABASE_URL: 'mysql://reader@127.0.0.1:9/patient_portal', VC_ACCESS_POLICY_URL: 'http://127.0.0.1:9' };
    for (const args of [
      ['phase', 's3', '--all-tenants'],
      ['phase', 's3', '--tenant', 'phantom'],
      ['enqueue', 'phase', 's3', '--all-tenants'],
    ]) {
      const result = await runMigrator([...args, '--as-of', AS_OF], { ...noLegacy, ...portal, VC_NATS_URL: 'nats://127.0.0.1:9' });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(
        /VC_LEGACY_DATABASE_URL \(expected [^)]+\) or VC_LEGACY_EXPORT_DIR \(expected [^)]+\) is not set: needed by phase s3 \(its tenants are the legacy source's/,
      );
    }
    expect((await stateOf('phantom')).runs).toBe(0);
    await client.query(`delete from vc_migration.step_checkpoints where tenant_id = 'phantom'`);
  }, 240_000);

  it("tenant forget removes a phantom tenant's migration state and records who and why; --reason is required", async () => {
    await client.query(
      `insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('acmee', 's1', '1.1', 'done'), ('acmee', 's1', '1.2', 'failed')`,
    );
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status) values ('acmee', 's1', 'done')`);
    expect((await runMigrator(['tenant', 'forget', 'acmee'], env)).code).toBe(2);
    const result = await runMigrator(['tenant', 'forget', 'acmee', '--reason', 'typo of acme', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).removed).toMatchObject({ step_checkpoints: 2, runs: 1 });
    expect(await stateOf('acmee')).toEqual({ checkpoints: 0, runs: 0 });
    const { rows } = await client.query(`select options from vc_migration.runs where tenant_id = 'acmee' and phase = 'forget'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].options.reason).toBe(freeTextDigest('typo of acme'));
    expect(rows[0].options.actor).toMatch(/.+@.+/);
  }, 240_000);

  it('tenant forget refuses a tenant with a cutover (exit 2, naming it) and removes nothing', async () => {
    await client.query(`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('cutover-tenant', 's4', '4.2', 'done')`);
    await client.query(`insert into vc_migration.cutovers (tenant_id, action) values ('cutover-tenant', 'cutover')`);
    const result = await runMigrator(['tenant', 'forget', 'cutover-tenant', '--reason', 'oops'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('S4 routing changes (vc_migration.cutovers)');
    expect((await stateOf('cutover-tenant')).checkpoints).toBe(1);
  }, 240_000);
  it('tenant forget is refused (exit 1) while a migrator run of the tenant holds its lock, and removes nothing', async () => {
    // What a `phase s1` holds from its start: its (tenant, phase) advisory lock and a running run row, before
    // any step has committed. Forgetting now would delete the state it is writing: its id map, once committed,
    // gone with the sessions kept, and the next run migrates them again.
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status) values ('busy', 's1', 'running')`);
    await client.query(`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('busy', 's0', '0.1', 'done')`);
    await client.query(`select pg_advisory_lock(hashtext('vc_migration'), hashtext($1))`, [runLockKey('busy', 's1')]);
    try {
      const result = await runMigrator(['tenant', 'forget', 'busy', '--reason', 'oops'], env);
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('another migrator run holds the lock of tenant busy phase s1');
      expect(await stateOf('busy')).toEqual({ checkpoints: 1, runs: 1 });
    } finally {
      await client.query(`select pg_advisory_unlock(hashtext('vc_migration'), hashtext($1))`, [runLockKey('busy', 's1')]);
    }
    const after = await runMigrator(['tenant', 'forget', 'busy', '--reason', 'oops'], env);
    expect(after.code, after.stderr).toBe(0);
    expect(await stateOf('busy')).toEqual({ checkpoints: 0, runs: 0 });
  }, 240_000);
  it('a second tenant forget keeps the record of the first (who and why), removing only the state left since', async () => {
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status) values ('twice', 's1', 'done')`);
    expect((await runMigrator(['tenant', 'forget', 'twice', '--reason', 'first typo'], env)).code).toBe(0);
    await client.query(`insert into vc_migration.runs (tenant_id, phase, status) values ('twice', 's1', 'done')`);
    const second = await runMigrator(['tenant', 'forget', 'twice', '--reason', 'second typo', '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).removed).toMatchObject({ runs: 1 });
    const { rows } = await client.query(`select options from vc_migration.runs where tenant_id = 'twice' and phase = 'forget' order by started_at`);
    expect(rows.map((r) => r.options.reason)).toEqual([freeTextDigest('first typo'), freeTextDigest('second typo')]);
  }, 240_000);
});
