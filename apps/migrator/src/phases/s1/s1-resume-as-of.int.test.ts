import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import { runMigratorJson, startMigrator } from '../../testing/run-cli';

/**
 * A resumed S1 classifies rows at the as-of its interrupted run fixed (kept in 1.1's checkpoint), whatever this
 * run's `--as-of` or now: its summary, `--json` and run row must say that as-of, not the new one, and name the
 * one asked for beside it.
 */
const FIRST_AS_OF = '2026-11-01T00:00:00.000Z';
let target: CsvTarget;
let tenants: string[];

beforeAll(async () => {
  target = await openCsvTarget('vc-s1-as-of-', { tenants: 2, sessions: 400, auditPerSession: 1, seed: 7, asOf: FIRST_AS_OF });
  tenants = Object.keys(target.expected.tenants).sort();
}, 120_000);

afterAll(async () => target?.close());

const s1 = (...extra: string[]) => ['phase', 's1', '--batch-size', '20', '--max-reject-rate', '0.5', ...extra];

interface Summary {
  status: string;
  asOf: string;
  requestedAsOf?: string;
  asOfByTenant?: Record<string, string>;
}

describe('a resumed s1 reports the as-of its steps used', () => {
  it('interrupted with --as-of, resumed without: the summary, --json and run row give the first run as-of', async () => {
    const tenant = tenants[0]!;
    const run = startMigrator([...s1('--tenant', tenant, '--as-of', FIRST_AS_OF), '--json'], target.env);
    // Stopped once 1.1 has committed batches (its checkpoint keeps the as-of) and is still reading.
    for (;;) {
      const { rows } = await target.client.query(
        `select read, status from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.1'`,
        [tenant],
      );
      if (rows[0]?.status === 'running' && rows[0].read >= 60) break;
      if (run.child.exitCode !== null) throw new Error(`s1 ended before 1.1 was part-way: ${run.stderr()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    run.child.kill('SIGTERM');
    const first = await run.done;
    expect(first.code, first.stderr).toBe(1);
    expect((JSON.parse(first.stdout) as Summary).status).toBe('interrupted');

    const resumed = await runMigratorJson<Summary>(s1('--tenant', tenant), target.env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.status).toBe('done');
    expect(resumed.json.asOf).toBe(FIRST_AS_OF);
    expect(resumed.json.requestedAsOf).toBeDefined();
    expect(resumed.json.requestedAsOf).not.toBe(FIRST_AS_OF);
    expect(resumed.json.asOfByTenant).toBeUndefined();
    expect(resumed.stderr).toContain(`, as of ${FIRST_AS_OF} (fixed by the run that started the phase; not ${resumed.json.requestedAsOf}): done`);
    // The run row (what `status` and the ledger read) and the steps' own record agree.
    const { rows } = await target.client.query(
      `select options->>'asOf' as as_of from vc_migration.runs where tenant_id = $1 and phase = 's1' order by started_at desc limit 1`,
      [tenant],
    );
    expect(new Date(rows[0].as_of).toISOString()).toBe(FIRST_AS_OF);
    const facts = await target.client.query(
      `select facts->>'asOf' as as_of from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = '1.5'`,
      [tenant],
    );
    expect(facts.rows[0].as_of).toBe(FIRST_AS_OF);
  }, 240_000);

  it('--all-tenants where one tenant resumes and one starts: each tenant’s as-of, and the one asked for', async () => {
    const summary = await runMigratorJson<Summary>(s1('--all-tenants'), target.env);
    expect(summary.code, summary.stderr).toBe(0);
    const requested = summary.json.requestedAsOf!;
    expect(requested).toBeDefined();
    expect(summary.json.asOf).toBe(requested);
    expect(summary.json.asOfByTenant).toEqual({ [tenants[0]!]: FIRST_AS_OF, [tenants[1]!]: requested });
    expect(summary.stderr).toContain(`, as of ${requested}; fixed by earlier runs: ${FIRST_AS_OF} (${tenants[0]}): done`);
  }, 240_000);
});
