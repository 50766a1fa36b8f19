import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runbookSuccessLine, successLinePattern } from '../reports/testing/runbook-success-line';
import { runMigrator, runMigratorJson } from '../testing/run-cli';

/**
 * What the runbooks tell an operator to look for, and what `status` shows, against the real CLI (the test
 * run's build) on a generated CSV export and a real PostgreSQL target.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: CsvTarget;

beforeAll(async () => {
  target = await openCsvTarget('vc-review4-docs-', { tenants: 3, sessions: 40, auditPerSession: 3, seed: 44, asOf: AS_OF });
}, 120_000);
afterAll(async () => {
  await target?.close();
});

describe('runbook success lines match what the phases print', { timeout: 120_000 }, () => {
  it('runbooks/s0-bootstrap.md: the summary starts with the line the runbook quotes', async () => {
    // The runbook's own line, read from it: changing either side alone fails here.
    const claim = runbookSuccessLine('runbooks/s0-bootstrap.md');
    expect(claim).toBe('phase s0, as of …: done');
    const run = await runMigrator(['phase', 's0', '--json'], target.env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(successLinePattern(claim));
  });
});

describe('status shows every tenant (docs/design.md §6: "`migrator status` shows every tenant × phase × step")', { timeout: 120_000 }, () => {
  it('lists the legacy tenants that have not started yet, not only those with state', async () => {
    const s0 = await runMigrator(['phase', 's0'], target.env);
    expect(s0.code, s0.stderr).toBe(0);
    const s1 = await runMigrator(['phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5'], target.env);
    expect(s1.code, s1.stderr).toBe(0);
    const status = await runMigratorJson<{ tenants: Array<{ tenant: string }>; steps: Array<{ tenant: string }> }>(['status'], target.env);
    expect(status.code, status.stderr).toBe(0);
    const legacyTenants = Object.keys(target.expected.tenants).sort();
    expect(legacyTenants.length).toBeGreaterThan(1);
    expect(status.json.tenants.map((t) => t.tenant).sort()).toEqual(legacyTenants);
    expect(status.json).toMatchObject({ tenantsFrom: 'legacy+state' });
    // The text says the same: a tenant not started yet is ready for s1, with its steps pending.
    const text = await runMigrator(['status'], target.env);
    expect(text.code, text.stderr).toBe(0);
    for (const tenant of legacyTenants.filter((t) => t !== 'acme')) {
      expect(text.stdout).toContain(`${tenant}: ready for s1 (\`pnpm migrator phase s1 --tenant ${tenant}\`)`);
      expect(text.stdout).toMatch(new RegExp(`^${tenant}\\s+s1\\s+1\\.1\\s+pending\\s`, 'm'));
    }
  });

  it('without a legacy source lists only the tenants with state, and says so', async () => {
    const { VC_LEGACY_EXPORT_DIR: _dir, ...env } = target.env;
    const s0 = await runMigrator(['phase', 's0'], env);
    expect(s0.code, s0.stderr).toBe(0);
    const { rows } = await target.client.query<{ tenant: string }>(
      `select distinct tenant_id as tenant from vc_migration.step_checkpoints where tenant_id <> '*' order by 1`,
    );
    const status = await runMigratorJson<{ tenants: Array<{ tenant: string }>; tenantsFrom: string; note: string }>(['status'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.tenants.map((t) => t.tenant)).toEqual(rows.map((r) => r.tenant));
    expect(rows.length).toBeLessThan(Object.keys(target.expected.tenants).length);
    expect(status.json).toMatchObject({ tenantsFrom: 'state', note: expect.stringContaining('no legacy source configured') });
    const text = await runMigrator(['status'], env);
    expect(text.stdout).toContain('only tenants with migration state are listed');
  });
});
