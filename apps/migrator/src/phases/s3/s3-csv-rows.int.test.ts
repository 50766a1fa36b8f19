import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessPolicyClient, startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { runInProcess } from '../s4/testing/in-process-cli';

/**
 * S3 on a CSV export of patient_portal, written from §5 ("a row is never dropped silently and never
 * stops the run"): a consent record that is not a row (a stray delimiter, bytes that are not UTF-8, a
 * last line cut inside a quote) and a consent whose text the target cannot hold (over 1024 bytes in an
 * indexed text, a NUL) are each one reject of 3.1 with its reason, and every other consent is imported
 * and verified. A malformed consent may be a revocation: it must show, by file and line.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: TestDatabase, accessPolicy: AccessPolicyStandIn;
let client: pg.Client;
let dir: string;

type Row = Record<string, string>;
const consent = (id: string, values: Row = {}, tenant = 'acme') =>
  LEGACY_TABLES.telehealth_consent.columns
    .map(
      (c) =>
        ({
          id,
          tenant_id: tenant,
          patient_ref: `Patient/p-${id}`,
          status: 'granted',
          granted_at: '2025-04-29 05:59:26',
          method: 'verbal',
          recorded_by: 'Practitioner/pr-1',
          updated_at: '2025-04-29 06:59:26',
          ...values,
        })[c] ?? '\\N',
    )
    .join(',');

/** The digital-communication tables of the export: one session, so the tenant is known; S3 reads only the consents. */
async function writeDigitalCommunication(into: string, tenant: string): Promise<void> {
  const session = LEGACY_TABLES.VirtualSession.columns
    .map((c) => ({ id: '1', tenantId: tenant, patientRef: 'Patient/p-1', status: 'scheduled', scheduledStart: '2026-12-01 10:00:00' })[c] ?? '\\N')
    .join(',');
  for (const table of ['VirtualSession', 'AuditLog', 'TenantVirtualCareConfig', 'BillingEvent'] as const) {
    await writeFile(join(into, `${table}.csv`), `${[LEGACY_TABLES[table].columns.join(','), ...(table === 'VirtualSession' ? [session] : [])].join('\n')}\n`);
  }
}

beforeAll(async () => {
  [target, accessPolicy, dir] = await Promise.all([createTestDatabase(), startAccessPolicyStandIn(), mkdtemp(join(tmpdir(), 'vc-s3-csv-'))]);
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await Promise.all([target?.drop(), accessPolicy?.close(), dir ? rm(dir, { recursive: true, force: true }) : undefined]);
});

describe('phase s3 on a CSV export: each bad consent record is one reject, the rest is imported and verified', { timeout: 120_000 }, () => {
  it('a stray delimiter, bytes not UTF-8, an over-long patient_ref, a NUL and a truncated last line', async () => {
    const lines = [
      LEGACY_TABLES.telehealth_consent.columns.join(','),
      consent('1'),
      // line 3: a stray comma in patient_ref shifts every field after it
      consent('2', { patient_ref: 'Patient/p-2,secret' }),
      // line 4: latin1 where UTF-8 belongs
      Buffer.from(consent('3', { recorded_by: 'Practitioner/Z\u00fcrich' }), 'latin1'),
      // line 5: an indexed text over 1024 bytes; line 6: a NUL (PostgreSQL text cannot hold it)
      consent('4', { patient_ref: `Patient/${'x'.repeat(2000)}` }),
      consent('5', { method: 'verbal\u0000' }),
      consent('6', { status: 'revoked', revoked_at: '2025-06-01 10:00:00' }),
    ];
    // line 8: the export was cut inside a quoted field
    const body = Buffer.concat([
      ...lines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l, 'utf8') : l, Buffer.from('\n')])),
      Buffer.from('7,acme,"Patient/p-7', 'utf8'),
    ]);
    await writeFile(join(dir, 'telehealth_consent.csv'), body);
    await writeDigitalCommunication(dir, 'acme');

    const env = { VC_LOG_LEVEL: 'silent', VC_DATABASE_URL: target.url, VC_LEGACY_EXPORT_DIR: dir, VC_ACCESS_POLICY_URL: accessPolicy.url };
    const run = await runInProcess(['phase', 's3', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '1', '--json', ...PAST_THE_GATES], env);
    expect(run.code, run.error).toBe(0);
    const steps = (JSON.parse(run.stdout) as { steps: Array<{ id: string; read: number; written: number; rejected: number }> }).steps;
    expect(steps.map((s) => [s.id, s.read, s.written, s.rejected])).toEqual([
      ['3.1', 7, 2, 5],
      // 3.2 reads past 3.1's rejects; 3.3 verifies the two patients that could be read.
      ['3.2', 7, 2, 0],
      ['3.3', 2, 0, 0],
    ]);

    const rejects = (
      await client.query<{ legacy_key: string; reason: string; detail: string; raw: Record<string, unknown> }>(
        "select legacy_key, reason, detail, raw from vc_migration.rejects where tenant_id = 'acme' and phase = 's3' order by legacy_key",
      )
    ).rows;
    expect(rejects.map((r) => [r.legacy_key, r.reason])).toEqual([
      ['telehealth_consent.csv:3', 'malformed_record'],
      ['telehealth_consent.csv:4', 'invalid_encoding'],
      ['telehealth_consent.csv:8', 'malformed_record'],
      ['telehealth_consent:4', 'field_too_long'],
      ['telehealth_consent:5', 'invalid_text'],
    ]);
    // Details name file, line and field, never a value; the raw record is kept escaped in the reject only.
    expect(rejects.map((r) => r.detail).join('\n')).not.toMatch(/secret|rich|xxxx/);
    expect(String(rejects[0]!.raw.$record)).toContain('Patient/p-2,secret');
    expect(String(rejects[1]!.raw.$record)).toContain('Z\\xFCrich');

    expect(await createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 }).countConsents('acme')).toBe(2);
    const [verify] = (
      await client.query<{ facts: Record<string, unknown> }>(
        "select facts from vc_migration.step_checkpoints where tenant_id = 'acme' and phase = 's3' and step_id = '3.3'",
      )
    ).rows;
    expect(verify!.facts).toMatchObject({
      disagreements: 0,
      unreadable: { count: 3, samples: ['telehealth_consent.csv:3', 'telehealth_consent.csv:4', 'telehealth_consent.csv:8'] },
    });
  });

  it('a consent revoked before it was granted is rejected ended_before_granted, one whose patient_ref is no Patient/<id> invalid_reference; one whose document_url is no URL is imported without it, warned', async () => {
    const beta = join(dir, 'beta');
    await mkdir(beta);
    const lines = [
      LEGACY_TABLES.telehealth_consent.columns.join(','),
      consent('21', { method: 'paper', document_url: 'https://docs.example.test/beta/consent-21.pdf' }, 'beta'),
      consent('22', { method: 'paper', document_url: '"scans/consent 22.pdf"' }, 'beta'),
      consent('23', { status: 'revoked', revoked_at: '2025-01-01 10:00:00' }, 'beta'),
      consent('24', { patient_ref: 'p-24' }, 'beta'),
    ];
    await writeFile(join(beta, 'telehealth_consent.csv'), `${lines.join('\n')}\n`);
    await writeDigitalCommunication(beta, 'beta');

    const env = { VC_LOG_LEVEL: 'silent', VC_DATABASE_URL: target.url, VC_LEGACY_EXPORT_DIR: beta, VC_ACCESS_POLICY_URL: accessPolicy.url };
    const run = await runInProcess(['phase', 's3', '--tenant', 'beta', '--as-of', AS_OF, '--max-reject-rate', '1', '--json', ...PAST_THE_GATES], env);
    expect(run.code, run.error).toBe(0);
    const steps = (JSON.parse(run.stdout) as { steps: Array<{ id: string; read: number; written: number; rejected: number; warnings: number }> }).steps;
    expect(steps.map((s) => [s.id, s.read, s.written, s.rejected])).toEqual([
      ['3.1', 4, 2, 2],
      ['3.2', 4, 2, 0],
      // The two patients of the imported consents agree (the rejected one is verified by nobody: it is 3.1's reject).
      ['3.3', 2, 0, 0],
    ]);
    const rejects = (
      await client.query<{ legacy_key: string; reason: string; detail: string }>(
        "select legacy_key, reason, detail from vc_migration.rejects where tenant_id = 'beta' and phase = 's3' order by legacy_key",
      )
    ).rows;
    expect(rejects).toEqual([
      {
        legacy_key: 'telehealth_consent:23',
        reason: 'ended_before_granted',
        detail: 'revoked_at is before granted_at (the consent would end before it starts)',
      },
      {
        legacy_key: 'telehealth_consent:24',
        reason: 'invalid_reference',
        detail: 'patient_ref is not a FHIR reference Patient/<id> (id: 1 to 64 of A-Z a-z 0-9 - .)',
      },
    ]);
    const [exported] = (
      await client.query<{ warnings: Record<string, number> }>(
        "select warnings from vc_migration.step_checkpoints where tenant_id = 'beta' and phase = 's3' and step_id = '3.1'",
      )
    ).rows;
    expect(exported!.warnings).toEqual({ invalid_document_url: 1 });
    // Both imported; the document only where it is a URL (the stand-in refuses an invalid Consent, as an EHR would).
    const consents = await accessPolicy.consents('beta');
    expect(Object.fromEntries(consents.map((c) => [c.identifier[0]!.value, c.sourceAttachment?.url ?? null]))).toEqual({
      '21': 'https://docs.example.test/beta/consent-21.pdf',
      '22': null,
    });
  });
});
