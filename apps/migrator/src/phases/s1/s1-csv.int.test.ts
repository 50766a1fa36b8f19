import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExpectedCounts } from '@vc/fixtures';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedS1, pgQuery, s1Counts, s1Snapshot } from '../../testing/counts';
import { runMigrator, runMigratorJson } from '../../testing/run-cli';

/** S1 on the checked-in CSV export into PostgreSQL 15, compared with the generator's expected counts. */
const EXPORT_DIR = fileURLToPath(new URL('../../../../../fixtures/legacy/csv', import.meta.url));
const expected = JSON.parse(readFileSync(join(EXPORT_DIR, 'expected.json'), 'utf8')) as ExpectedCounts;
const S1 = ['phase', 's1', '--all-tenants', '--as-of', expected.asOf, '--max-reject-rate', '0.2'];

let db: TestDatabase;
let client: pg.Client;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  work = await mkdtemp(join(tmpdir(), 'vc-s1-csv-'));
  env = {
    VC_DATABASE_URL: db.url,
    VC_LEGACY_EXPORT_DIR: EXPORT_DIR,
    VC_LEGACY_MASTER_KEY: expected.legacyMasterKey,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  const s0 = await runMigrator(['phase', 's0'], env);
  expect(s0.code, s0.stderr).toBe(0);
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
  await rm(work, { recursive: true, force: true });
});

describe('s1 from the checked-in CSV export into PostgreSQL', () => {
  it('a dry run reports the expected rejects and warnings and writes nothing', async () => {
    const { code, json } = await runMigratorJson<{ status: string; dryRun: boolean; rejects: Record<string, number>; warnings: Record<string, number> }>(
      [...S1, '--dry-run'],
      env,
    );
    const totals = (pick: (t: ExpectedCounts['tenants'][string]) => Record<string, number | undefined>) => {
      const sum: Record<string, number> = {};
      for (const t of Object.values(expected.tenants)) for (const [k, n] of Object.entries(pick(t))) sum[k] = (sum[k] ?? 0) + (n ?? 0);
      return sum;
    };
    const rejects = totals((t) => ({ ...t.sessions.rejected, ...t.participants.rejectedEvents, ...(t.config.rejected ? { [t.config.rejected]: 1 } : {}) }));
    const warnings = totals((t) => ({ ...t.sessions.warnings, ...t.participants.warnings, ...t.config.warnings }));
    expect({ code, status: json.status, dryRun: json.dryRun, rejects: json.rejects, warnings: json.warnings }).toEqual({
      code: 0,
      status: 'done',
      dryRun: true,
      rejects,
      warnings,
    });
    const [written] = (
      await client.query(
        `select (select count(*) from virtual_sessions)::int + (select count(*) from vc_migration.step_checkpoints where phase = 's1')::int + (select count(*) from vc_migration.rejects)::int + (select count(*) from vc_migration.runs where phase = 's1')::int as n`,
      )
    ).rows;
    expect(written.n).toBe(0);
    // Not even the local keyring: a dry run calls no KMS.
    expect(existsSync(join(work, 'kms.json'))).toBe(false);
  });

  it('loads, rejects and warns exactly as the generator expects, per tenant', async () => {
    const { code, json, stderr } = await runMigratorJson<{ status: string; tenants: string[] }>(S1, env);
    expect(code, stderr).toBe(0);
    expect(json.tenants).toEqual(Object.keys(expected.tenants).sort());
    for (const tenant of Object.keys(expected.tenants)) {
      expect({ tenant, ...(await s1Counts(pgQuery(client), tenant)) }).toEqual({ tenant, ...expectedS1(expected.tenants[tenant]!) });
    }
  });

  it('the corrupt credential blob of globex is a credential_decrypt_failed reject, and globex has no config row', async () => {
    const { rows } = await client.query(
      `select legacy_key, reason, raw->>'credentials' as credentials from vc_migration.rejects where tenant_id = 'globex' and step_id = '1.3'`,
    );
    expect(rows).toEqual([{ legacy_key: 'globex', reason: 'credential_decrypt_failed', credentials: '[withheld]' }]);
    expect((await client.query(`select 1 from tenant_virtual_care_configs where tenant_id = 'globex'`)).rowCount).toBe(0);
  });

  it('every loaded historical session is ended or cancelled, with a video backend', async () => {
    const { rows } = await client.query(`select status::text, video_backend::text, count(*)::int as n from virtual_sessions group by 1, 2 order by 1, 2`);
    expect(rows.every((r: { status: string }) => r.status === 'ended' || r.status === 'cancelled')).toBe(true);
    expect(rows.map((r: { video_backend: string }) => r.video_backend).every((b: string) => ['jitsi', 'twilio', 'zoom'].includes(b))).toBe(true);
  });

  it('re-running a finished s1 changes nothing and skips every step', async () => {
    const before = await s1Snapshot(pgQuery(client));
    const { code, json } = await runMigratorJson<{ steps: Array<{ status: string }> }>(S1, env);
    expect(code).toBe(0);
    expect(new Set(json.steps.map((s) => s.status))).toEqual(new Set(['skipped']));
    expect(await s1Snapshot(pgQuery(client))).toEqual(before);
  });

  it('`migrator rejects` lists legacy keys and reasons without raw rows unless asked', async () => {
    const plain = await runMigratorJson<{ counts: Record<string, number>; rejects: Array<Record<string, unknown>>; rawRowsIncluded: boolean }>(
      ['rejects', '--tenant', 'acme', '--reason', 'missing_patient'],
      env,
    );
    expect(plain.json.counts).toEqual({ missing_patient: expected.tenants.acme!.sessions.rejected.missing_patient });
    expect(plain.json.rejects.map((r) => Object.keys(r).sort())).toEqual([['detail', 'legacyKey', 'phase', 'reason', 'step']]);
    expect(plain.json.rawRowsIncluded).toBe(false);
    const raw = await runMigratorJson<{ rejects: Array<{ raw: Record<string, unknown> }> }>(
      ['rejects', '--tenant', 'acme', '--reason', 'missing_patient', '--with-raw-rows'],
      env,
    );
    expect(raw.json.rejects[0]!.raw.tenantId).toBe('acme');
  });

  it('`migrator status --json` lists every tenant × phase × step', async () => {
    const { json } = await runMigratorJson<{ steps: Array<{ tenant: string; phase: string; step: string; status: string }> }>(['status'], env);
    const s1 = json.steps.filter((s) => s.phase === 's1');
    expect(s1.map((s) => `${s.tenant}/${s.step}/${s.status}`)).toEqual(
      Object.keys(expected.tenants)
        .sort()
        .flatMap((t) => ['1.1', '1.2', '1.3', '1.4', '1.5'].map((id) => `${t}/${id}/done`)),
    );
  });
});
