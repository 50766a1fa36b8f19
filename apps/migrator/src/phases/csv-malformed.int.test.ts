import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startKongAdminStandIn, type KongAdminStandIn } from '@vc/integrations/kong';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../legacy/tables';
import type { LegacyTable } from '../legacy/types';
import { PAST_THE_GATES } from '../testing/past-the-gates';
import { runInProcess } from './s4/testing/in-process-cli';

/**
 * A malformed record of a CSV export (a stray delimiter, a missing field, bytes that are not UTF-8, a
 * last line cut inside a quote) is one reject naming its file and line, through `phase s1` and through
 * S4's delta sync, and every other row of the file loads. Written from §5 ("a row is never dropped
 * silently and never stops the run"), on a hand-made export.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';

// The systems S1 and S4 talk to, all throwaway: PostgreSQL, the FHIR and Kong stand-ins, a work directory.
let target: TestDatabase, fhir: FhirStandIn, kong: KongAdminStandIn;
let client: pg.Client;
let work: string;
let env: Record<string, string>;

type Row = Record<string, string>;
const line = (table: LegacyTable, values: Row) => LEGACY_TABLES[table].columns.map((c) => values[c] ?? '\\N').join(',');
const session = (id: string, values: Row = {}) =>
  line('VirtualSession', {
    id,
    tenantId: 'acme',
    patientRef: `Patient/p-${id}`,
    scheduledStart: '2026-10-01 10:00:00',
    scheduledEnd: '2026-10-01 10:30:00',
    startedAt: '2026-10-01 10:00:00',
    endedAt: '2026-10-01 10:25:00',
    status: 'completed',
    videoBackend: 'jitsi',
    createdAt: '2026-09-01 08:00:00',
    updatedAt: '2026-09-01 08:00:00',
    ...values,
  });
const event = (id: string, sessionId: string, actorRef: string) =>
  line('AuditLog', {
    id,
    tenantId: 'acme',
    entityType: 'VirtualSession',
    entityId: sessionId,
    action: 'participant.joined',
    actorRef,
    occurredAt: '2026-10-01 10:01:00',
  });

async function writeTable(dir: string, table: LegacyTable, lines: Array<string | Buffer>): Promise<void> {
  const parts = [`${LEGACY_TABLES[table].columns.join(',')}\n`, ...lines.map((l) => (typeof l === 'string' ? `${l}\n` : l))];
  await writeFile(join(dir, `${table}.csv`), Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))));
}

const run = (dir: string, ...args: string[]) =>
  runInProcess([...args, '--tenant', 'acme', '--max-reject-rate', '1', '--json'], { ...env, VC_LEGACY_EXPORT_DIR: dir });
const rejects = async (phase: string) =>
  (
    await client.query<{ step_id: string; legacy_key: string; reason: string; detail: string; source: string; raw: Record<string, unknown> }>(
      'select step_id, legacy_key, reason, detail, source, raw from vc_migration.rejects where tenant_id = $1 and phase = $2 order by step_id, legacy_key',
      ['acme', phase],
    )
  ).rows;
const loaded = async () =>
  (
    await client.query<{ legacy_id: string; patient_ref: string }>(
      "select legacy_id, patient_ref from virtual_sessions where tenant_id = 'acme' order by legacy_id::int",
    )
  ).rows;

beforeAll(async () => {
  [target, fhir, work] = await Promise.all([createTestDatabase(), startFhirStandIn(), mkdtemp(join(tmpdir(), 'vc-csv-malformed-'))]);
  kong = await startKongAdminStandIn({
    initial: {
      _format_version: '3.0',
      services: [
        {
          name: 'digital-communication',
          url: 'http://dc.internal:8080',
          routes: [{ name: 'legacy', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
        },
      ],
    },
  });
  env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: target.url,
    VC_LEGACY_MASTER_KEY: randomBytes(32).toString('base64'),
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KONG_ADMIN_URL: kong.url,
  };
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await Promise.all([target?.drop(), fhir?.close(), kong?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('a malformed CSV record is one reject; the rest of the file loads', { timeout: 120_000 }, () => {
  const before = () => join(work, 'before');
  const after = () => join(work, 'after');

  it('phase s1: a stray delimiter, bytes not UTF-8 and a missing field are rejected with file and line; the other rows load', async () => {
    await mkdir(before());
    await writeTable(before(), 'VirtualSession', [
      session('1'),
      // line 3: a stray comma in patientRef shifts every field after it
      session('2', { patientRef: 'Patient/p-2,secret' }),
      session('3'),
      // line 5: latin1 where UTF-8 belongs
      Buffer.from(`${session('4', { patientRef: 'Patient/Z\u00fcrich' })}\n`, 'latin1'),
      session('5'),
    ]);
    // line 3 of AuditLog.csv: a field missing
    await writeTable(before(), 'AuditLog', [
      event('10', '1', 'Practitioner/d-1'),
      event('11', '3', 'Practitioner/d-1').replace(',VirtualSession,', ','),
      event('12', '5', 'Patient/p-5'),
    ]);
    await writeTable(before(), 'TenantVirtualCareConfig', []);
    await writeTable(before(), 'BillingEvent', []);

    const s1 = await run(before(), 'phase', 's1', '--as-of', AS_OF, '--batch-size', '2');
    expect(s1.code, s1.error).toBe(0);
    const steps = (JSON.parse(s1.stdout) as { steps: Array<{ id: string; read: number; written: number; rejected: number; deferred: number }> }).steps;
    const s11 = steps.find((s) => s.id === '1.1')!;
    expect({ read: s11.read, written: s11.written, rejected: s11.rejected, deferred: s11.deferred }).toEqual({ read: 5, written: 3, rejected: 2, deferred: 0 });
    expect(steps.find((s) => s.id === '1.4')).toMatchObject({ read: 3, rejected: 1 });

    expect((await loaded()).map((s) => [s.legacy_id, s.patient_ref])).toEqual([
      ['1', 'Patient/p-1'],
      ['3', 'Patient/p-3'],
      ['5', 'Patient/p-5'],
    ]);
    const found = await rejects('s1');
    expect(found.map((r) => [r.step_id, r.legacy_key, r.reason, r.source])).toEqual([
      ['1.1', 'VirtualSession.csv:3', 'malformed_record', 'VirtualSession.csv:3'],
      ['1.1', 'VirtualSession.csv:5', 'invalid_encoding', 'VirtualSession.csv:5'],
      ['1.4', 'AuditLog.csv:3', 'malformed_record', 'AuditLog.csv:3'],
    ]);
    // The detail names the file, line and field, never a value; the raw record is kept (escaped) in the reject only.
    expect(found.map((r) => r.detail).join('\n')).not.toMatch(/secret|rich/);
    expect(found[1]!.detail).toMatch(/VirtualSession\.csv, line 5: patientRef holds bytes that are not UTF-8/);
    expect(found[0]!.raw).toMatchObject({ $file: 'VirtualSession.csv', $line: 3, $fields: 17, $expected: 16 });
    expect(String(found[0]!.raw.$record)).toContain('Patient/p-2,secret');
    expect(String(found[1]!.raw.$record)).toContain('Patient/Z\\xFCrich');
    // The participants of the well-formed events were folded.
    const participants = await client.query("select count(*)::int as n from session_participants where tenant_id = 'acme'");
    expect(participants.rows[0].n).toBe(2);
  });

  it("S4 delta sync: a truncated last line is one reject, a new session loads, S1's malformed records are not rejected again", async () => {
    await cp(before(), after(), { recursive: true });
    await appendFile(
      join(after(), 'VirtualSession.csv'),
      `${session('6', { scheduledStart: '2026-11-20 10:00:00', scheduledEnd: '2026-11-20 10:30:00', startedAt: '2026-11-20 10:00:00', endedAt: '2026-11-20 10:25:00', createdAt: '2026-11-10 08:00:00', updatedAt: '2026-11-10 08:00:00' })}\n`,
    );
    // line 8: the export was cut inside a quoted field
    await appendFile(join(after(), 'VirtualSession.csv'), '7,acme,\\N,"Patient/p-7');
    await appendFile(join(after(), 'AuditLog.csv'), `${event('13', '6', 'Patient/p-6')}\n${event('14', '6', 'Practitioner/d-1')},surplus\n`);

    const s4 = await run(after(), 'phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);
    expect(s4.code, s4.error).toBe(0);
    expect((await loaded()).map((s) => s.legacy_id)).toEqual(['1', '3', '5', '6']);
    expect((await rejects('s4')).map((r) => [r.step_id, r.legacy_key, r.reason])).toEqual([
      ['4.1', 'AuditLog.csv:6', 'malformed_record'],
      ['4.1', 'VirtualSession.csv:8', 'malformed_record'],
    ]);
    const participants = await client.query(
      "select p.participant_ref from session_participants p join virtual_sessions s on s.id = p.session_id where s.tenant_id = 'acme' and s.legacy_id = '6'",
    );
    expect(participants.rows).toEqual([{ participant_ref: 'Patient/p-6' }]);
  });
});
