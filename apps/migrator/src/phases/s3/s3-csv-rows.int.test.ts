import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessPolicyClient, startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { consentCsvLine } from './testing/consent-csv';
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
const consent = (id: string, values: Row = {}, tenant = 'acme') => consentCsvLine(id, values, tenant);

/** The digital-communication tables of an export: one session, so the tenant is known; S3 reads only the consents. */
async function writeSessionTables(into: string, tenantId: string, patientRef: string): Promise<void> {
  const session = LEGACY_TABLES.VirtualSession.columns
    .map((c) => ({ id: '1', tenantId, patientRef, status: 'scheduled', scheduledStart: '2026-12-01 10:00:00' })[c] ?? '\\N')
    .join(',');
  for (const table of ['VirtualSession', 'AuditLog', 'TenantVirtualCareConfig', 'BillingEvent'] as const) {
    await writeFile(join(into, `${table}.csv`), `${[LEGACY_TABLES[table].columns.join(','), ...(table === 'VirtualSession' ? [session] : [])].join('\n')}\n`);
  }
}

/** `phase s3` for one tenant of an export, and each step's [id, read, written, rejected]. */
async function runS3(exportDir: string, tenantId: string, ...extra: string[]) {
  const env = { VC_LOG_LEVEL: 'silent', VC_DATABASE_URL: target.url, VC_LEGACY_EXPORT_DIR: exportDir, VC_ACCESS_POLICY_URL: accessPolicy.url };
  const run = await runInProcess(['phase', 's3', '--tenant', tenantId, '--as-of', AS_OF, '--max-reject-rate', '1', '--json', ...extra, ...PAST_THE_GATES], env);
  expect(run.code, run.error).toBe(0);
  const steps = (JSON.parse(run.stdout) as { steps: Array<{ id: string; read: number; written: number; rejected: number }> }).steps;
  return steps.map((s) => [s.id, s.read, s.written, s.rejected]);
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
    await writeSessionTables(dir, 'acme', 'Patient/p-1');

    expect(await runS3(dir, 'acme')).toEqual([
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

  it('a consent id twice: the later updated_at is imported, the other copy is rejected duplicate_legacy_id, across batches and either order', async () => {
    const exportDir = join(dir, 'twins');
    await mkdir(exportDir);
    const row = (id: string, values: Row) => consent(id, { tenant_id: 'globex', ...values });
    const revoked = { status: 'revoked', revoked_at: '2025-06-01 10:00:00', updated_at: '2025-06-01 10:00:00' };
    const lines = [
      LEGACY_TABLES.telehealth_consent.columns.join(','),
      // record 1 (line 2): the newest version of consent 10, the patient revoked; record 3 is its stale "granted" copy
      row('10', { patient_ref: 'Patient/p-dup', ...revoked }),
      row('11', {}),
      row('10', { patient_ref: 'Patient/p-dup' }),
      // consent 12 the other way round: the stale copy first (record 4), the revocation after it (record 5)
      row('12', { patient_ref: 'Patient/p-dup2' }),
      row('12', { patient_ref: 'Patient/p-dup2', ...revoked }),
    ];
    await writeFile(join(exportDir, 'telehealth_consent.csv'), `${lines.join('\n')}\n`);
    await writeSessionTables(exportDir, 'globex', 'Patient/p-11');
    // One row per batch: every twin is met in another batch than its sibling.
    expect(await runS3(exportDir, 'globex', '--batch-size', '1')).toEqual([
      ['3.1', 5, 3, 2],
      ['3.2', 5, 3, 0],
      ['3.3', 3, 0, 0],
    ]);
    const twins = async () =>
      (
        await client.query<{ legacy_key: string; reason: string; source: string; raw: Record<string, unknown> }>(
          "select legacy_key, reason, source, raw from vc_migration.rejects where tenant_id = 'globex' and phase = 's3' order by legacy_key",
        )
      ).rows;
    const rejects = await twins();
    expect(rejects.map((r) => [r.legacy_key, r.reason, r.source, r.raw.status, r.raw.updated_at])).toEqual([
      ['telehealth_consent:10#3', 'duplicate_legacy_id', 'telehealth_consent.csv:4', 'granted', '2025-04-29 06:59:26'],
      ['telehealth_consent:12#4', 'duplicate_legacy_id', 'telehealth_consent.csv:5', 'granted', '2025-04-29 06:59:26'],
    ]);
    const ap = createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 });
    const stored = () =>
      accessPolicy
        .consents('globex')
        .map((c) => [c.identifier[0]!.value, c.status, c.meta?.versionId])
        .sort();
    expect(stored()).toEqual([
      ['10', 'inactive', '1'],
      ['11', 'active', '1'],
      ['12', 'inactive', '1'],
    ]);
    for (const patient of ['Patient/p-dup', 'Patient/p-dup2'])
      expect(await ap.decideTelehealth('globex', patient, new Date(AS_OF))).toMatchObject({ permitted: false, reason: 'revoked' });

    // `phase s3` again re-runs every step (rerunWhenDone): the same copies win, nothing is rejected twice or flipped.
    expect(await runS3(exportDir, 'globex', '--batch-size', '1')).toEqual([
      ['3.1', 5, 3, 2],
      ['3.2', 5, 3, 0],
      ['3.3', 3, 0, 0],
    ]);
    expect(await twins()).toEqual(rejects);
    expect(stored()).toEqual([
      ['10', 'inactive', '1'],
      ['11', 'active', '1'],
      ['12', 'inactive', '1'],
    ]);
  });

  it('a consent that expires before its revocation date stops permitting at its expiry', async () => {
    const exportDir = join(dir, 'expiry');
    await mkdir(exportDir);
    const lines = [
      LEGACY_TABLES.telehealth_consent.columns.join(','),
      consent('20', { tenant_id: 'initech', patient_ref: 'Patient/p-exp', expires_at: '2027-01-01 00:00:00', revoked_at: '2027-06-01 00:00:00' }),
    ];
    await writeFile(join(exportDir, 'telehealth_consent.csv'), `${lines.join('\n')}\n`);
    await writeSessionTables(exportDir, 'initech', 'Patient/p-exp');
    await runS3(exportDir, 'initech');
    const ap = createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 });
    const at = async (iso: string) => (await ap.decideTelehealth('initech', 'Patient/p-exp', new Date(iso))).permitted;
    // Before the expiry it permits; between the expiry and the later revocation date it no longer does.
    expect([await at('2026-12-01T00:00:00Z'), await at('2027-03-01T00:00:00Z'), await at('2027-07-01T00:00:00Z')]).toEqual([true, false, false]);
  });

  it('a revocation (and a new consent) legacy takes after S3: validate names them by legacy id, `phase s3` again carries them', async () => {
    const exportDir = join(dir, 'drift');
    await mkdir(exportDir);
    await writeSessionTables(exportDir, 'umbrella', 'Patient/p-1');
    // 60 granted consents, one patient each: more patients than any sample of a few dozen would look at.
    const writeConsents = (changed: boolean) => {
      const rows = Array.from({ length: changed ? 61 : 60 }, (_, i) => String(i + 1)).map((id) =>
        consent(id, {
          tenant_id: 'umbrella',
          ...(changed && id === '60' ? { status: 'revoked', revoked_at: '2026-11-02 09:00:00', updated_at: '2026-11-02 09:00:00' } : {}),
        }),
      );
      return writeFile(join(exportDir, 'telehealth_consent.csv'), `${[LEGACY_TABLES.telehealth_consent.columns.join(','), ...rows].join('\n')}\n`);
    };
    await writeConsents(false);
    await runS3(exportDir, 'umbrella');
    const env = { VC_LOG_LEVEL: 'silent', VC_DATABASE_URL: target.url, VC_LEGACY_EXPORT_DIR: exportDir, VC_ACCESS_POLICY_URL: accessPolicy.url };
    const consentsCheck = async () => {
      const run = await runInProcess(['validate', '--tenant', 'umbrella', '--json', '--out', join(exportDir, 'reports')], env);
      const checks = (JSON.parse(run.stdout) as { checks: Array<{ id: string; status: string; actual: unknown; samples: string[] }> }).checks;
      return checks.find((c) => c.id === 'consents.accessible')!;
    };
    expect((await consentsCheck()).status).toBe('pass');

    // The patient of consent 60 revokes in the (still live) legacy portal; consent 61 is new. A consent of
    // access-policy's own keeps its count as high as legacy's: only a comparison by identifier sees 61 is missing.
    await writeConsents(true);
    await createAccessPolicyClient({ baseUrl: accessPolicy.url }).upsertConsent('umbrella', {
      identifier: { system: 'urn:test:elsewhere', value: '1' },
      patientRef: 'Patient/p-elsewhere',
      status: 'active',
    });
    const stale = await consentsCheck();
    expect(stale).toMatchObject({
      status: 'fail',
      actual: { consents: 59, missing: 1, differing: 1, decisionsChecked: 61, disagreements: 2 },
      samples: ['telehealth_consent:61', 'telehealth_consent:60'],
    });
    expect(JSON.stringify(stale)).not.toContain('Patient/');

    expect(await runS3(exportDir, 'umbrella')).toEqual([
      ['3.1', 61, 61, 0],
      ['3.2', 61, 61, 0],
      ['3.3', 61, 0, 0],
    ]);
    const ap = createAccessPolicyClient({ baseUrl: accessPolicy.url, cacheTtlMs: 0 });
    expect(await ap.decideTelehealth('umbrella', 'Patient/p-60', new Date())).toMatchObject({ permitted: false, reason: 'revoked' });
    expect(await ap.decideTelehealth('umbrella', 'Patient/p-61', new Date())).toMatchObject({ permitted: true });
    expect(await consentsCheck()).toMatchObject({ status: 'pass', actual: { consents: 61, missing: 0, differing: 0, decisionsChecked: 61, disagreements: 0 } });
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
    await writeSessionTables(beta, 'beta', 'Patient/p-1');

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
