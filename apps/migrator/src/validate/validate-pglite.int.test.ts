import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AS_OF as AS_OF, embeddedAfterS1, runMigrator, type EmbeddedTenant } from './testing/harness';

/**
 * The embedded default (`pnpm demo`, first run): PGlite as the target and the checked-in CSV export as
 * legacy. After S1 alone the counts reconcile, duplicate-id twins included, and the checks that S2 and S3
 * satisfy fail by name.
 */
let demo: EmbeddedTenant;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  demo = await embeddedAfterS1('vc-validate-pglite-');
  ({ work, env } = demo);
}, 300_000);

afterAll(async () => {
  await demo?.close();
});

describe('migrator validate on PGlite with the CSV export', { timeout: 180_000 }, () => {
  it('reconciles the export after S1 and fails, by name, the checks S2 and S3 have still to satisfy', async () => {
    const run = await runMigrator(['validate', '--tenant', 'acme', '--as-of', AS_OF, '--out', join(work, 'reports'), '--json'], env);
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as { checks: Array<{ id: string; status: string; actual: unknown; samples: string[] }> };
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    const sessions = demo.expected.tenants.acme.sessions;
    const rejected = Object.values(sessions.rejected).reduce((a, b) => a + b, 0);
    expect(byId['sessions.reconciled']).toMatchObject({
      status: 'pass',
      actual: { loaded: sessions.loaded, rejected, deferred: sessions.deferred, accounted: sessions.legacy },
    });
    expect(byId['sessions.status']?.status).toBe('pass');
    expect(byId['configs.migrated']?.status).toBe('pass');
    expect(byId['configs.test_connection']).toMatchObject({ status: 'fail', samples: ['check:never_tested'] });
    expect(byId['consents.accessible']?.status).toBe('fail');
  });

  it('reconciles duplicate-id twins that S1 read in different batches, whichever of the two won', async () => {
    // In the checked-in export, umbrella's twins are adjacent: batches of 2 split them with the winner first.
    const tenants = ['umbrella'];
    for (const tenant of tenants) {
      const s1 = await runMigrator(['phase', 's1', '--tenant', tenant, '--as-of', AS_OF, '--max-reject-rate', '0.5', '--batch-size', '2'], env);
      expect(s1.code, s1.stderr).toBe(0);
      const rejects = await runMigrator(['rejects', '--tenant', tenant, '--reason', 'duplicate_legacy_id', '--with-raw-rows', '--json'], env);
      const rejected = (JSON.parse(rejects.stdout) as { rejects: Array<{ legacyKey: string; raw: Record<string, unknown> }> }).rejects;
      expect(rejected.length, tenant).toBeGreaterThan(0);
      // Every rejected twin keeps its whole legacy row, also the later one an earlier batch's twin displaced
      // (batches of 2 split umbrella's adjacent twins with the winner first).
      for (const r of rejected) expect(Object.keys(r.raw).length, r.legacyKey).toBeGreaterThan(10);
    }
    for (const tenant of tenants) {
      const run = await runMigrator(['validate', '--tenant', tenant, '--as-of', AS_OF, '--out', join(work, `reports-${tenant}`), '--json'], env);
      const report = JSON.parse(run.stdout) as { checks: Array<{ id: string; status: string; samples: string[] }> };
      expect(
        report.checks.find((c) => c.id === 'sessions.reconciled'),
        tenant,
      ).toMatchObject({ status: 'pass', samples: [] });
    }
  });
});
