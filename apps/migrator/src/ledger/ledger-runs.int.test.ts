import { join } from 'node:path';
import { createKongGateway, type KongConfig } from '@vc/integrations/kong';
import * as schema from '@vc/schema';
import { drizzle } from 'drizzle-orm/node-postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeTextDigest } from './canonical';
import { makePlan, savePlan } from '../scale/plan';
import { openCsvTarget, type CsvTarget } from '../testing/csv-target';
import { runMigrator, startMigrator } from '../testing/run-cli';

/**
 * The run ledger as an operator's commands leave it, through the real executable on PostgreSQL: a writing
 * invocation appends a start row and, at exit, an end row naming it (who, command, exit status); a run
 * killed outright leaves its start row alone, shown as unfinished, and the chain still verifies; the
 * commands of S4's aftermath and `tenant forget` are recorded; reads such as `plan status` are not.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const PREVIOUS: KongConfig = { _format_version: '3.0', services: [{ name: 'digital-communication', url: 'http://legacy.internal:8080', routes: [] }] };
const APPLIED: KongConfig = {
  _format_version: '3.0',
  services: [...PREVIOUS.services, { name: 'virtual-care', url: 'http://virtual-care-service:8080', routes: [] }],
};

interface Row {
  seq: number;
  hash: string;
  tenants: string[];
  entry: Record<string, unknown>;
}

let target: CsvTarget;
let client: pg.Client;
let env: Record<string, string>;
let tenants: string[];

beforeAll(async () => {
  target = await openCsvTarget('vc-ledger-runs-', { tenants: 2, sessions: 300, auditPerSession: 4, seed: 23, asOf: AS_OF });
  client = target.client;
  tenants = Object.keys(target.expected.tenants).sort();
  env = { ...target.env, VC_OPERATOR: 'ops-ledger', VC_KONG_FILE: join(target.work, 'kong.yaml') };
}, 240_000);

afterAll(async () => target?.close());

const rows = async () => (await client.query<Row>('select seq::int as seq, hash, tenants, entry from vc_migration.ledger order by seq')).rows;
const rowsAfter = async (seq: number) => (await rows()).filter((r) => r.seq > seq);
const tip = async () => (await rows()).at(-1)?.seq ?? 0;

/** The rows one invocation left: its start row, then its end row naming it, with who ran what and how it ended. */
function expectPair(added: Row[], command: string, exitCode: number): void {
  expect(added.map((r) => r.entry.event)).toEqual(['start', 'end']);
  const [start, end] = added as [Row, Row];
  expect(start.entry).toMatchObject({ command, operator: 'ops-ledger', osUser: expect.any(String), host: expect.any(String) });
  expect(start.entry).not.toHaveProperty('exitCode');
  expect(end.entry).toMatchObject({
    command,
    operator: 'ops-ledger',
    osUser: start.entry.osUser,
    exitCode,
    startSeq: start.seq,
    startHash: start.hash,
    startedAt: start.entry.startedAt,
  });
}

async function expectIntact(): Promise<Record<string, unknown>> {
  const verify = await runMigrator(['ledger', 'verify', '--json'], env);
  expect(verify.code, verify.stderr).toBe(0);
  const verdict = JSON.parse(verify.stdout) as Record<string, unknown>;
  expect(verdict).toMatchObject({ status: 'intact', rows: (await rows()).length });
  return verdict;
}

/** A cutover of `tenant` in force through the decK file, as step 4.2 leaves it. */
async function cutOver(tenant: string): Promise<void> {
  await createKongGateway({ file: env.VC_KONG_FILE! }).apply(APPLIED);
  await client.query(`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing) values ($1, 'cutover', $2::jsonb, $3::jsonb)`, [
    tenant,
    JSON.stringify(PREVIOUS),
    JSON.stringify(APPLIED),
  ]);
  await client.query(
    `insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, facts) values ($1, 's4', '4.2', 'done', $2::jsonb)
     on conflict (tenant_id, phase, step_id, key_range) do update set status = 'done', facts = excluded.facts`,
    [tenant, JSON.stringify({ gateway: `file:${env.VC_KONG_FILE}`, applied: true })],
  );
}

describe('ledger rows of writing invocations', { timeout: 240_000 }, () => {
  it('a phase appends a start row as it begins and an end row naming it at exit; the chain verifies', async () => {
    const before = await tip();
    const run = await runMigrator(['phase', 's1', '--tenant', tenants[0]!, '--as-of', AS_OF, '--max-reject-rate', '0.5'], env);
    expect(run.code, run.stderr).toBe(0);
    const added = await rowsAfter(before);
    expectPair(added, 'phase s1', 0);
    expect(added.map((r) => r.tenants)).toEqual([[tenants[0]], [tenants[0]]]);
    expect(added[1]!.entry.counts).toEqual(expect.arrayContaining([expect.objectContaining({ step: '1.1', status: 'done' })]));
    expect((await expectIntact()).unfinished).toEqual([]);
  });

  it('a run killed with SIGKILL leaves its start row and no end row: verify passes, the listing shows it unfinished', async () => {
    const before = await tip();
    const run = startMigrator(['phase', 's1', '--tenant', tenants[1]!, '--as-of', AS_OF, '--batch-size', '10', '--max-reject-rate', '0.5'], env);
    let gone = false;
    void run.done.then(() => (gone = true));
    // Killed once it is writing: a step has a checkpoint, so the start row must be there already.
    const writing = async () =>
      (await client.query(`select 1 from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1'`, [tenants[1]])).rowCount! > 0;
    while (!gone && !(await writing())) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(gone, run.stderr()).toBe(false);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    const added = await rowsAfter(before);
    expect(added.map((r) => [r.entry.event, r.entry.command])).toEqual([['start', 'phase s1']]);
    const started = added[0]!;
    expect(started.entry).toMatchObject({ pid: run.child.pid, operator: 'ops-ledger', flags: expect.objectContaining({ tenant: tenants[1] }) });
    expect((await expectIntact()).unfinished).toEqual([started.seq]);
    const verify = await runMigrator(['ledger', 'verify'], env);
    expect(verify.stdout).toContain(`1 unfinished run(s), a start row with no end row: row ${started.seq}`);
    const shown = await runMigrator(['ledger', 'show', '--tenant', tenants[1]!], env);
    expect(shown.stdout).toMatch(
      new RegExp(`^ *${started.seq} \\S+ UNFINISHED +\\S+ phase s1 — no end row: still running \\(pid ${run.child.pid} on .+\\) or killed$`, 'm'),
    );
    const json = JSON.parse((await runMigrator(['ledger', 'show', '--json'], env)).stdout) as { unfinished: number[] };
    expect(json.unfinished).toEqual([started.seq]);
  });

  it('rollback s4 is recorded: who, command, exit status; a refused one too, with its exit 2', async () => {
    await cutOver(tenants[0]!);
    await cutOver(tenants[1]!);
    // Refused once the target is open (the other tenant is cut over on the same routing): on record with its exit 2.
    const before = await tip();
    const refused = await runMigrator(['rollback', 's4', '--tenant', tenants[0]!], env);
    expect(refused.code, refused.stderr).toBe(2);
    expectPair(await rowsAfter(before), 'rollback s4', 2);
    const again = await tip();
    const back = await runMigrator(['rollback', 's4', '--all-tenants'], env);
    expect(back.code, back.stderr).toBe(0);
    const added = await rowsAfter(again);
    expectPair(added, 'rollback s4', 0);
    expect(added[1]!.entry.flags).toMatchObject({ allTenants: true });
    await expectIntact();
  });

  it("phase s4 decommission is recorded with its --force reason's digest", async () => {
    await cutOver(tenants[0]!);
    const before = await tip();
    const run = await runMigrator(['phase', 's4', 'decommission', '--tenant', tenants[0]!, '--force', '--reason', 'CHG-9 legacy host retired early'], env);
    expect(run.code, run.stderr).toBe(0);
    const added = await rowsAfter(before);
    expectPair(added, 'phase s4 decommission', 0);
    expect(added[1]!.entry.flags).toMatchObject({ tenant: tenants[0], force: true, reason: freeTextDigest('CHG-9 legacy host retired early') });
    await expectIntact();
  });

  it('tenant forget is recorded', async () => {
    await client.query(`insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status) values ('phantom', 's1', '1.1', 'done')`);
    const before = await tip();
    const run = await runMigrator(['tenant', 'forget', 'phantom', '--reason', 'typo'], env);
    expect(run.code, run.stderr).toBe(0);
    const added = await rowsAfter(before);
    expectPair(added, 'tenant forget phantom', 0);
    expect(added[1]!.entry.flags).toMatchObject({ reason: freeTextDigest('typo') });
    await expectIntact();
  });

  it('plan and plan status only read: no ledger row, whatever they answer', async () => {
    const plan = makePlan('s1', [tenants[0]!], { asOf: AS_OF, batchSize: 10, concurrency: 1, maxRejectRate: 0.5 }, (...tokens) => tokens.join('.'));
    await savePlan(
      drizzle(client, { schema }) as unknown as schema.Database,
      plan,
      { asOf: AS_OF, batchSize: 10, concurrency: 1, maxRejectRate: 0.5 },
      new Date(),
    );
    const before = await tip();
    expect((await runMigrator(['plan', 'status', plan.id], env)).code).toBe(1);
    expect((await runMigrator(['plan', 'status', 'no-such-plan'], env)).code).toBe(2);
    expect((await runMigrator(['plan', '--help'], env)).code).toBe(0);
    expect(await tip()).toBe(before);
  });
});
