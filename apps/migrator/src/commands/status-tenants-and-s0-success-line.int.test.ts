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
  });
});
