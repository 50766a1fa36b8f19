import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runInProcess } from '../phases/s4/testing/in-process-cli';

/**
 * `migrator status` on real PostgreSQL, from seeded migration state: one rollup line per tenant (blocked at
 * the failed step with its error, running with pid, host and heartbeat age, stale when the pid is gone or the
 * heartbeat stopped, interrupted, waiting for a gate, done), no stale error on a step that succeeded since,
 * and the steps' facts (S3 tallies, the Kong plan as a diff) in the text and in --json.
 */
let db: TestDatabase;
let client: pg.Client;
let deadPid: number;

const STEPS: Record<string, string[]> = {
  s1: ['1.1', '1.2', '1.3', '1.4', '1.5'],
  s2: ['2.2', '2.3', '2.4'],
  s3: ['3.1', '3.2', '3.3'],
  s4: ['4.1', '4.2', '4.3'],
};

async function step(
  tenant: string,
  phase: string,
  id: string,
  status: string,
  extra: { error?: string; facts?: Record<string, unknown>; runId?: string } = {},
): Promise<void> {
  await client.query(
    `insert into vc_migration.step_checkpoints (tenant_id, phase, step_id, status, error, facts, run_id) values ($1, $2, $3, $4, $5, $6, $7)`,
    [tenant, phase, id, status, extra.error ?? null, JSON.stringify(extra.facts ?? {}), extra.runId ?? null],
  );
}

async function phaseDone(tenant: string, phase: string, facts: Record<string, Record<string, unknown>> = {}): Promise<void> {
  for (const id of STEPS[phase]!) await step(tenant, phase, id, 'done', { facts: facts[id] ?? {} });
}

async function run(tenant: string, phase: string, status: string, where: { host: string; pid: number; ageS: number }): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `insert into vc_migration.runs (tenant_id, phase, status, host, pid, heartbeat_at) values ($1, $2, $3, $4, $5, now() - make_interval(secs => $6)) returning id`,
    [tenant, phase, status, where.host, where.pid, where.ageS],
  );
  return rows[0]!.id;
}

/** A pid that surely names no process here: one that just exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

beforeAll(async () => {
  [db, deadPid] = await Promise.all([createTestDatabase(), exitedPid()]);
  client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  vi.stubEnv('VC_DATABASE_URL', db.url);
  vi.stubEnv('VC_LOG_LEVEL', 'silent');

  // globex: S2's connection test failed; S3 (which needs only S1) went on.
  await phaseDone('globex', 's1');
  await step('globex', 's2', '2.2', 'failed', { error: 'tenant globex: Jitsi test-connection failed (jwt)' });
  await phaseDone('globex', 's3', { '3.3': { patients: 12, permitted: 10, disagreements: 0 } });
  // acme: 1.3 failed once, then succeeded (its old error is still in the row); 2.2 is running here, now.
  await phaseDone('acme', 's1');
  await client.query(`update vc_migration.step_checkpoints set error = 'KMS throttled (old)' where tenant_id = 'acme' and step_id = '1.3'`);
  await step('acme', 's2', '2.2', 'running', { runId: await run('acme', 's2', 'running', { host: hostname(), pid: process.pid, ageS: 0 }) });
  // initech: its process died on this host; umbrella: its host went silent ten minutes ago; hooli: Ctrl-C.
  await step('initech', 's1', '1.1', 'running', { runId: await run('initech', 's1', 'running', { host: hostname(), pid: deadPid, ageS: 0 }) });
  await step('umbrella', 's1', '1.1', 'running', { runId: await run('umbrella', 's1', 'running', { host: 'worker-7', pid: 4242, ageS: 600 }) });
  await step('hooli', 's1', '1.1', 'running', { runId: await run('hooli', 's1', 'interrupted', { host: hostname(), pid: deadPid, ageS: 30 }) });
  // stark: S1–S3 done and S2 GO, never validated; wayne: cut over, its Kong plan in 4.2's facts.
  for (const phase of ['s1', 's2', 's3']) await phaseDone('stark', phase, { '2.3': { parallelRun: { decision: 'go', reasons: [] } } });
  for (const phase of ['s1', 's2', 's3', 's4'])
    await phaseDone('wayne', phase, {
      '4.2': {
        kongPlan: ['+ service virtual-care-service: url http://vc.internal:8080', '+ route virtual-care-api: service virtual-care-service'],
        trafficMoves: ['wayne'],
      },
    });
}, 120_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await client?.end();
  await db?.drop();
});

describe('migrator status', () => {
  it('rolls each tenant up in one line: blocked, running (pid, host, heartbeat), stale, interrupted, gated, done', async () => {
    const result = await runInProcess(['status']);
    expect(result.code, result.error).toBe(0);
    const lines = result.stdout.split('\n');
    const host = hostname();
    const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const beat = '\\d+ s ago';
    const expected = [
      `acme: running s2 2.2 \\(pid ${process.pid} on ${esc(host)}, heartbeat ${beat}\\)`,
      esc('globex: blocked at s2 2.2 — tenant globex: Jitsi test-connection failed (jwt)'),
      esc('hooli: interrupted at s1 1.1; run `pnpm migrator phase s1 --tenant hooli` to resume'),
      `initech: stale at s1 1.1 — pid ${deadPid} is gone on ${esc(host)} \\(pid ${deadPid} on ${esc(host)}, heartbeat ${beat}\\); run \`pnpm migrator phase s1 --tenant initech\` to resume`,
      esc('stark: waiting for s4 — gate validate-pass: no `migrator validate` recorded for the tenant (clear: pnpm migrator validate --tenant stark)'),
      `umbrella: stale at s1 1.1 — no heartbeat for 6\\d\\d s \\(pid 4242 on worker-7, heartbeat 6\\d\\d s ago\\); run \`pnpm migrator phase s1 --tenant umbrella\` to resume`,
      esc('wayne: done (s1–s4; cut over)'),
    ];
    expect(lines.slice(0, 7).map((line, i) => new RegExp(`^${expected[i]}$`).test(line) || line)).toEqual(expected.map(() => true));
    expect(result.stdout).toMatch(/^initech\s+s1\s+1\.1\s+stale\s/m);
    expect(result.stdout).toMatch(/^hooli\s+s1\s+1\.1\s+interrupted\s/m);
    expect(result.stdout).not.toContain('KMS throttled');
    expect(result.stdout).toContain('globex s3 3.3: patients 12, permitted 10, disagreements 0');
    expect(result.stdout).toContain(
      'wayne s4 4.2: trafficMoves ["wayne"]\n  Kong plan:\n    + service virtual-care-service: url http://vc.internal:8080\n    + route virtual-care-api: service virtual-care-service',
    );
  });

  it("--json carries the rollup, each running step's run (pid, host, heartbeat age, stale or not) and the facts", async () => {
    const result = await runInProcess(['status', '--json']);
    const json = JSON.parse(result.stdout) as {
      tenants: Array<{ tenant: string; state: string; phase?: string; step?: string }>;
      steps: Array<Record<string, unknown>>;
    };
    expect(json.tenants.map((t) => [t.tenant, t.state, t.phase, t.step])).toEqual([
      ['acme', 'running', 's2', '2.2'],
      ['globex', 'blocked', 's2', '2.2'],
      ['hooli', 'interrupted', 's1', '1.1'],
      ['initech', 'stale', 's1', '1.1'],
      ['stark', 'gated', 's4', undefined],
      ['umbrella', 'stale', 's1', '1.1'],
      ['wayne', 'done', undefined, undefined],
    ]);
    const of = (tenant: string, id: string) => json.steps.find((s) => s.tenant === tenant && s.step === id)!;
    expect(of('acme', '2.2')).toMatchObject({
      status: 'running',
      run: { state: 'running', host: hostname(), pid: process.pid, heartbeatAgeS: expect.any(Number) },
    });
    expect(of('umbrella', '1.1')).toMatchObject({
      status: 'stale',
      run: { state: 'stale', host: 'worker-7', pid: 4242, why: expect.stringMatching(/^no heartbeat for 6\d\d s$/) },
    });
    expect(of('acme', '1.3')).not.toHaveProperty('error');
    expect(of('globex', '2.2')).toMatchObject({ status: 'failed', error: 'tenant globex: Jitsi test-connection failed (jwt)' });
    expect(of('globex', '3.3').facts).toEqual({ patients: 12, permitted: 10, disagreements: 0 });
    expect(of('wayne', '4.2').facts).toMatchObject({
      kongPlan: ['+ service virtual-care-service: url http://vc.internal:8080', '+ route virtual-care-api: service virtual-care-service'],
    });
  });
});
