import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { consentCsvLine } from './testing/consent-csv';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { startMigrator } from '../../testing/run-cli';
import { checkpointRow } from '../resume-support';
import { runInProcess } from '../s4/testing/in-process-cli';

/**
 * `phase s3` again (its steps re-run when done) leaves exactly the rejects that run finds (docs/design.md §6): a
 * consent access-policy refused last time and takes now, a row fixed in the export, the stale copy of a twin since
 * removed are no longer reported quarantined; a row still bad keeps its one reject. A run killed mid-way through
 * 3.2 and resumed ends the same: the fresh pass forgot the last pass's rejects with its checkpoint reset, and the
 * resumed pass keeps what its committed batches rejected.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: TestDatabase, accessPolicy: AccessPolicyStandIn, gate: ConsentGate;
let client: pg.Client;
let dir: string;

type Row = Record<string, string>;
const consent = (tenant: string, id: string, values: Row = {}) => consentCsvLine(id, values, tenant);
/** A revoked consent: legacy and access-policy agree its patient may not join whether or not it was imported (3.3 passes). */
const REVOKED = { status: 'revoked', revoked_at: '2025-06-01 10:00:00', updated_at: '2025-06-01 10:00:00' };

/** An export of one tenant: its consents, and one session so the tenant is known (S3 reads only the consents). */
async function writeExport(into: string, tenant: string, consents: string[]): Promise<void> {
  await mkdir(into, { recursive: true });
  await writeFile(join(into, 'telehealth_consent.csv'), `${[LEGACY_TABLES.telehealth_consent.columns.join(','), ...consents].join('\n')}\n`);
  const session = LEGACY_TABLES.VirtualSession.columns
    .map((c) => ({ id: '1', tenantId: tenant, patientRef: 'Patient/p-1', status: 'scheduled', scheduledStart: '2026-12-01 10:00:00' })[c] ?? '\\N')
    .join(',');
  for (const table of ['VirtualSession', 'AuditLog', 'TenantVirtualCareConfig', 'BillingEvent'] as const) {
    await writeFile(join(into, `${table}.csv`), `${[LEGACY_TABLES[table].columns.join(','), ...(table === 'VirtualSession' ? [session] : [])].join('\n')}\n`);
  }
}

/**
 * access-policy behind a gate: the consents named in `refused` are answered 422 (a business rule, as access-policy
 * refuses one consent), the upsert of `held` is kept unanswered and reported through `reached` (a run to kill
 * there), everything else goes through.
 */
interface ConsentGate {
  url: string;
  refused: Set<string>;
  held?: string;
  reached?: () => void;
  close(): Promise<void>;
}

async function startConsentGate(upstream: string): Promise<ConsentGate> {
  const to = new URL(upstream);
  const identifierOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://gate').searchParams.get('identifier')?.split('|').pop();
  const server: Server = createServer((req, res) => {
    const id = req.method === 'PUT' ? identifierOf(req) : undefined;
    if (id !== undefined && id === gate.held) {
      gate.reached?.();
      req.on('close', () => res.destroy());
      return;
    }
    if (id !== undefined && gate.refused.has(id)) {
      req.resume();
      res.writeHead(422, { 'Content-Type': 'application/problem+json' }).end('{"title":"unprocessable"}');
      return;
    }
    const forward = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.on('error', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gate: ConsentGate = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused: new Set(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
  return gate;
}

const envOf = (exportDir: string) => ({ VC_LOG_LEVEL: 'silent', VC_DATABASE_URL: target.url, VC_LEGACY_EXPORT_DIR: exportDir, VC_ACCESS_POLICY_URL: gate.url });
const s3Args = (tenant: string) => [
  'phase',
  's3',
  '--tenant',
  tenant,
  '--as-of',
  AS_OF,
  '--max-reject-rate',
  '1',
  '--batch-size',
  '1',
  '--concurrency',
  '1',
  '--json',
  ...PAST_THE_GATES,
];

/** `phase s3` in process; each step's [id, status, read, written, rejected]. */
async function runS3(exportDir: string, tenant: string) {
  const run = await runInProcess(s3Args(tenant), envOf(exportDir));
  expect(run.code, run.error).toBe(0);
  return (JSON.parse(run.stdout) as { steps: Array<{ id: string; status: string; read: number; written: number; rejected: number }> }).steps.map((s) => [
    s.id,
    s.status,
    s.read,
    s.written,
    s.rejected,
  ]);
}

const rejectsOf = async (tenant: string) =>
  (
    await client.query<{ step_id: string; legacy_key: string; reason: string }>(
      "select step_id, legacy_key, reason from vc_migration.rejects where tenant_id = $1 and phase = 's3' order by step_id, legacy_key",
      [tenant],
    )
  ).rows.map((r) => [r.step_id, r.legacy_key, r.reason]);
const stored = (tenant: string) =>
  accessPolicy
    .consents(tenant)
    .map((c) => [c.identifier[0]!.value, c.status])
    .sort((a, b) => Number(a[0]) - Number(b[0]));

beforeAll(async () => {
  [target, accessPolicy, dir] = await Promise.all([createTestDatabase(), startAccessPolicyStandIn(), mkdtemp(join(tmpdir(), 'vc-s3-rerun-'))]);
  gate = await startConsentGate(accessPolicy.url);
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await Promise.all([target?.drop(), gate?.close(), accessPolicy?.close(), dir ? rm(dir, { recursive: true, force: true }) : undefined]);
});

describe('phase s3 again leaves exactly the rejects it finds', { timeout: 120_000 }, () => {
  it('a consent access-policy refused and now takes, a row fixed in the export and a twin since removed leave no reject; a row still bad keeps one', async () => {
    const exportDir = join(dir, 'fixed');
    const tenant = 'hooli';
    const row = (id: string, values: Row = {}) => consent(tenant, id, values);
    await writeExport(exportDir, tenant, [
      row('1'),
      row('2', REVOKED),
      row('3', { patient_ref: '' }),
      row('4', REVOKED),
      // consent 4's stale copy (its updated_at is older)
      row('4'),
      row('5', { status: 'paused' }),
    ]);
    gate.refused = new Set(['2']);
    expect(await runS3(exportDir, tenant)).toEqual([
      ['3.1', 'done', 6, 3, 3],
      ['3.2', 'done', 6, 2, 1],
      ['3.3', 'done', 3, 0, 0],
    ]);
    expect(await rejectsOf(tenant)).toEqual([
      ['3.1', 'telehealth_consent:3', 'missing_patient'],
      ['3.1', 'telehealth_consent:4#5', 'duplicate_legacy_id'],
      ['3.1', 'telehealth_consent:5', 'unknown_consent_status'],
      ['3.2', 'telehealth_consent:2', 'consent_refused'],
    ]);

    // access-policy now takes consent 2; the portal fixed consent 3's patient; the stale copy of 4 is gone.
    gate.refused = new Set();
    await writeExport(exportDir, tenant, [row('1'), row('2', REVOKED), row('3'), row('4', REVOKED), row('5', { status: 'paused' })]);
    expect(await runS3(exportDir, tenant)).toEqual([
      ['3.1', 'done', 5, 4, 1],
      ['3.2', 'done', 5, 4, 0],
      ['3.3', 'done', 4, 0, 0],
    ]);
    expect(await rejectsOf(tenant)).toEqual([['3.1', 'telehealth_consent:5', 'unknown_consent_status']]);
    expect(stored(tenant)).toEqual([
      ['1', 'active'],
      ['2', 'inactive'],
      ['3', 'active'],
      ['4', 'inactive'],
    ]);
    // What the operator reads: `migrator rejects` and the status tallies say the same.
    const listed = await runInProcess(['rejects', '--tenant', tenant, '--json'], envOf(exportDir));
    expect(listed.code, listed.error).toBe(0);
    expect(listed.stdout).not.toContain('consent_refused');
    expect(listed.stdout).toContain('unknown_consent_status');
  });

  it('killed (SIGKILL) mid-way through 3.2 of a re-run and resumed: the stale rejects are gone, those of the batches it committed before the kill stay', async () => {
    const exportDir = join(dir, 'killed');
    const tenant = 'wonka';
    await writeExport(exportDir, tenant, [
      consent(tenant, '1', REVOKED),
      consent(tenant, '2', REVOKED),
      consent(tenant, '3'),
      consent(tenant, '4'),
      consent(tenant, '5', REVOKED),
      consent(tenant, '6', { patient_ref: '' }),
    ]);
    gate.refused = new Set(['1', '5']);
    await runS3(exportDir, tenant);
    expect(await rejectsOf(tenant)).toEqual([
      ['3.1', 'telehealth_consent:6', 'missing_patient'],
      ['3.2', 'telehealth_consent:1', 'consent_refused'],
      ['3.2', 'telehealth_consent:5', 'consent_refused'],
    ]);

    // The re-run: access-policy takes 1 now, refuses 2 and still 5; the run is killed while 3.2 waits on consent 3.
    gate.refused = new Set(['2', '5']);
    gate.held = '3';
    const reached = new Promise<void>((resolve) => (gate.reached = resolve));
    const killed = startMigrator(s3Args(tenant), envOf(exportDir));
    await Promise.race([reached, killed.done.then((r) => Promise.reject(new Error(`the run ended before 3.2 reached consent 3: ${r.stderr}`)))]);
    killed.child.kill('SIGKILL');
    expect((await killed.done).signal).toBe('SIGKILL');
    gate.held = undefined;
    // 3.1's fresh pass is done; 3.2's forgot the last pass's rejects with its checkpoint reset and committed 1 and 2.
    expect(await checkpointRow(client, tenant, 's3', '3.2')).toMatchObject({ status: 'running', read: 2, cursor: { after: '2' } });
    expect(await rejectsOf(tenant)).toEqual([
      ['3.1', 'telehealth_consent:6', 'missing_patient'],
      ['3.2', 'telehealth_consent:2', 'consent_refused'],
    ]);

    // Resumed: 3.2 goes on after consent 2, keeping 2's reject, and meets 5 again.
    expect(await runS3(exportDir, tenant)).toEqual([
      ['3.1', 'done', 6, 5, 1],
      ['3.2', 'done', 6, 3, 2],
      ['3.3', 'done', 5, 0, 0],
    ]);
    expect(await rejectsOf(tenant)).toEqual([
      ['3.1', 'telehealth_consent:6', 'missing_patient'],
      ['3.2', 'telehealth_consent:2', 'consent_refused'],
      ['3.2', 'telehealth_consent:5', 'consent_refused'],
    ]);
    // Consent 2 went in with the first run; this run's reject says access-policy refused its re-import.
    expect(stored(tenant)).toEqual([
      ['1', 'inactive'],
      ['2', 'inactive'],
      ['3', 'active'],
      ['4', 'active'],
    ]);
  });
});
