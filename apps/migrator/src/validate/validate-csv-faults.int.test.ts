import { appendFile, cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvSource } from '../legacy/csv-source';
import { LEGACY_TABLES } from '../legacy/tables';
import type { LegacyTable } from '../legacy/types';
import { seedLegacyEncounters } from '../testing/ehr-encounters';
import { DEMO_AS_OF as AS_OF, DEMO_CSV_DIR, filesUnder, runMigrator, type DemoExpected } from './testing/harness';

/**
 * `migrator validate` on a CSV export with malformed records (docs/design.md §4): one S1 rejected counts
 * as a rejected legacy row, so a healthy tenant still passes; one no phase rejected (appended after S1)
 * fails a check naming its `file:line`, never its content. The runbook's path S1 → S2 → S3 on real
 * PostgreSQL, the checked-in export with two malformed records of acme added.
 */
let pg: TestDatabase;
let handle: DatabaseHandle;
let accessPolicy: AccessPolicyStandIn;
let jitsi: JitsiStandIn;
let fhir: FhirStandIn;
let work: string;
let dir: string;
let env: Record<string, string>;

/** In every malformed record: it must never reach a report. */
const PHI = 'Patient/phi-marker-7731';

interface ValidationJson {
  status: 'pass' | 'fail';
  checks: Array<{ id: string; tenant: string; status: string; actual: Record<string, unknown>; samples: string[] }>;
}

const line = (table: LegacyTable, values: Record<string, string>) => LEGACY_TABLES[table].columns.map((c) => values[c] ?? '\\N').join(',');
/** A session record with a stray delimiter in patientRef: one field too many. */
const strayComma = (id: string) =>
  line('VirtualSession', {
    id,
    tenantId: 'acme',
    patientRef: `${PHI},x`,
    scheduledStart: '2026-10-01 10:00:00',
    scheduledEnd: '2026-10-01 10:30:00',
    status: 'cancelled',
    videoBackend: 'jitsi',
    createdAt: '2026-09-01 08:00:00',
    updatedAt: '2026-09-01 08:00:00',
  });
/** A participant event with entityType missing: one field too few. */
const missingField = (id: string, sessionId: string) =>
  line('AuditLog', {
    id,
    tenantId: 'acme',
    entityType: 'VirtualSession',
    entityId: sessionId,
    action: 'participant.joined',
    actorRef: PHI,
    occurredAt: '2026-10-01 10:01:00',
  }).replace(',VirtualSession,', ',');

/**
 * Appends a record to a file of the export (which ends with a line break) as another tool would, ending
 * it with LF even where the file ends its records with CRLF (AuditLog.csv). Returns its `file:line`.
 */
async function append(table: LegacyTable, record: string): Promise<string> {
  const path = join(dir, `${table}.csv`);
  const lineNo = ((await readFile(path, 'utf8')).match(/\n/g)?.length ?? 0) + 1;
  await appendFile(path, `${record}\n`);
  return `${table}.csv:${lineNo}`;
}

const migrator = (...args: string[]) => runMigrator(args, env);
const validate = (out: string) => migrator('validate', '--tenant', 'acme', '--as-of', AS_OF, '--report', 'json,junit,md', '--out', join(work, out), '--json');
let s1Rejected: string[];
let expected: DemoExpected;

beforeAll(async () => {
  [pg, accessPolicy, jitsi, fhir, work] = await Promise.all([
    createTestDatabase(),
    startAccessPolicyStandIn(),
    startJitsiStandIn(),
    startFhirStandIn(),
    mkdtemp(join(tmpdir(), 'vc-validate-csv-')),
  ]);
  handle = await createDatabase(pg.url, { max: 2 });
  dir = join(work, 'export');
  await cp(DEMO_CSV_DIR, dir, { recursive: true });
  expected = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as DemoExpected;
  s1Rejected = [await append('VirtualSession', strayComma('990001')), await append('AuditLog', missingField('990002', '1'))];
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_EXPORT_DIR: dir,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_MODE: 'shadow',
  };
  expect(await seedLegacyEncounters(fhir.url, createCsvSource(dir), ['acme'])).toBeGreaterThan(0);
  const s1 = await migrator('phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5');
  expect(s1.code, s1.stderr).toBe(0);
  // Plan 2.1: the tenant admin repoints the config at the deployed Jitsi (PUT /config), which the service writes as it
  // writes every config change: a new version, stamped now. Validate then takes the config for the service's.
  await queryRows(
    handle.db,
    sql`update tenant_virtual_care_configs set jitsi_server_url = ${jitsi.url}, version = version + 1, updated_at = now() returning tenant_id`,
  );
  const s2 = await migrator(
    'phase',
    's2',
    '--tenant',
    'acme',
    '--as-of',
    AS_OF,
    '--window',
    '14d',
    '--report-dir',
    join(work, 's2'),
    '--min-parallel-pairs',
    '0',
    '--concurrency',
    '1',
  );
  expect(s2.code, s2.stderr).toBe(0);
  const s3 = await migrator('phase', 's3', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5');
  expect(s3.code, s3.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), accessPolicy?.close(), jitsi?.close(), fhir?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('migrator validate on a CSV export with malformed records', { timeout: 180_000 }, () => {
  it('S1 rejected both malformed records by file:line', async () => {
    const rows = await queryRows<{ legacy_key: string; reason: string }>(
      handle.db,
      sql`select legacy_key, reason from vc_migration.rejects where tenant_id = 'acme' and phase = 's1' and raw->>'$file' is not null order by legacy_key`,
    );
    expect(rows).toEqual([...s1Rejected].sort().map((key) => ({ legacy_key: key, reason: 'malformed_record' })));
  });

  it('passes the healthy tenant: a rejected malformed record counts as a rejected legacy row, no sample names anything', async () => {
    const run = await validate('healthy');
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(
      report.checks.filter((c) => c.status !== 'pass'),
      run.stderr,
    ).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.checks.flatMap((c) => c.samples)).toEqual([]);
    const reconciled = report.checks.find((c) => c.id === 'sessions.reconciled')!;
    const { legacy, loaded, deferred, rejected } = expected.tenants.acme.sessions;
    const rejectedBefore = Object.values(rejected).reduce((a, b) => a + b, 0);
    expect(reconciled.actual).toEqual({ loaded, rejected: rejectedBefore + 1, deferred, accounted: legacy + 1 });
  });

  it('fails, naming file:line and never the record, on malformed records no phase rejected', async () => {
    const unread = [await append('VirtualSession', strayComma('990003')), await append('AuditLog', missingField('990004', '1'))];
    const run = await validate('unread');
    expect(run.code, run.stderr).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId['sessions.reconciled']).toMatchObject({ status: 'fail', samples: [unread[0]], actual: { unread: 1 } });
    expect(byId['fingerprints.participants']).toMatchObject({ status: 'fail', samples: [unread[1]] });
    const files = await filesUnder(join(work, 'unread'));
    const junit = files.find((f) => f.path.endsWith('.junit.xml'))!.text;
    const markdown = files.find((f) => f.path.endsWith('.md'))!.text;
    for (const text of [junit, markdown]) for (const where of unread) expect(text).toContain(where);
    for (const f of await filesUnder(work)) if (!f.path.startsWith(dir)) expect(f.text, f.path).not.toContain('phi-marker');
    expect(run.stdout + run.stderr).not.toContain('phi-marker');
  });
});
