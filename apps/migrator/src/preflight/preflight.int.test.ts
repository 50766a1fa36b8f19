import { randomBytes } from 'node:crypto';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { encodeJitsiCredentials, jitsiCredentialsContext } from '@vc/domain/jitsi';
import { createKms, startKmsStandIn, type KmsStandIn } from '@vc/integrations/kms';
import { startKongAdminStandIn, type KongAdminStandIn } from '@vc/integrations/kong';
import { loadIntoMysql } from '@vc/fixtures';
import { createTestMysqlDatabase, type TestMysqlDatabase } from '@vc/fixtures/testing';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { runMigratorJson } from '../testing/run-cli';
import { runPreflight, type PreflightReport } from './run-preflight';

/**
 * `migrator preflight` against real PostgreSQL, MariaDB and nats-server, and the KMS, FHIR,
 * access-policy and Kong stand-ins on loopback: a healthy set-up passes every check; a wrong master
 * key, a missing legacy column, a KMS that denies and a target ahead of the code each fail their check.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: TestDatabase;
let legacy: TestMysqlDatabase;
let kms: KmsStandIn;
let fhir: FhirStandIn;
let accessPolicy: AccessPolicyStandIn;
let kong: KongAdminStandIn;
let env: Record<string, string>;
let masterKey: string;

const preflight = (overrides: Record<string, string> = {}, tenant: string | undefined = 'acme'): Promise<PreflightReport> =>
  runPreflight(loadConfig({ ...env, ...overrides }), createLogger('silent'), tenant === undefined ? {} : { tenant });
const statuses = (report: PreflightReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
const reasonOf = (report: PreflightReport, id: string) => report.checks.find((c) => c.id === id)?.reason ?? '';

beforeAll(async () => {
  [target, legacy, kms, fhir, accessPolicy, kong] = await Promise.all([
    createTestDatabase(),
    createTestMysqlDatabase('vc_preflight'),
    startKmsStandIn(),
    startFhirStandIn(),
    startAccessPolicyStandIn(),
    startKongAdminStandIn(),
  ]);
  const loaded = await loadIntoMysql(legacy.url, {
    tenants: 2,
    sessions: 40,
    auditPerSession: 3,
    seed: 1302,
    asOf: new Date(AS_OF),
    databases: legacy.databases,
  });
  masterKey = loaded.expected.legacyMasterKey;
  const natsUrl = process.env.VC_TEST_NATS_URL;
  if (!natsUrl) throw new Error('VC_TEST_NATS_URL is not set: run with `pnpm test`');
  env = {
    VC_DATABASE_URL: target.url,
    VC_LEGACY_DATABASE_URL: legacy.url,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: masterKey,
    VC_KMS: `aws:${kms.keyIds[0]}`,
    VC_KMS_ENDPOINT: kms.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'preflight-test',
    AWS_SECRET_ACCESS_KEY: 'preflight-test-secret',
    VC_NATS_URL: natsUrl,
    VC_NATS_STREAM: `VC_PREFLIGHT_${randomBytes(3).toString('hex').toUpperCase()}`,
    VC_FHIR_BASE_URL: fhir.url,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_KONG_ADMIN_URL: kong.url,
  };
  Object.assign(process.env, { AWS_REGION: env.AWS_REGION, AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY });
}, 120_000);

afterAll(async () => {
  await Promise.all([target?.drop(), legacy?.drop(), kms?.close(), fhir?.close(), accessPolicy?.close(), kong?.close()]);
});

describe('migrator preflight', () => {
  it('passes every check of a healthy set-up, and says what S1 would read and how long it would take at which rate', async () => {
    const report = await preflight();
    expect(report.status).toBe('pass');
    expect(statuses(report)).toEqual({
      'target.reachable': 'pass',
      'target.privileges': 'pass',
      'target.schema': 'pass',
      'legacy.reachable': 'pass',
      'legacy.time_zone': 'pass',
      'legacy.contract': 'pass',
      'portal.contract': 'pass',
      'tenants.known': 'pass',
      'kms.round_trip': 'pass',
      'credentials.legacy': 'pass',
      // S1 has migrated no config yet: nothing to decrypt on the target side.
      'credentials.target': 'skip',
      'nats.jetstream': 'pass',
      'fhir.reachable': 'pass',
      'access_policy.reachable': 'pass',
      'kong.reachable': 'pass',
      'legacy.counts': 'pass',
    });
    expect(report.tenants).toEqual(['acme']);
    expect(report.counts).toHaveLength(1);
    expect(report.counts[0]!.sessions).toBeGreaterThan(0);
    expect(report.estimate).toMatchObject({ rows: report.counts[0]!.sessions + report.counts[0]!.participantEvents, rowsPerSecond: 22_006 });
    expect(reasonOf(report, 'legacy.counts')).toContain('at 22006 rows/s');
    expect(reasonOf(report, 'kms.round_trip')).toContain('{tenantId: acme, purpose: jitsi-credentials}');
  });

  it('a wrong legacy master key fails credentials.legacy naming the tenant, and only that check', async () => {
    const report = await preflight({ VC_LEGACY_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(report.status).toBe('fail');
    expect(report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['credentials.legacy']);
    expect(reasonOf(report, 'credentials.legacy')).toBe(
      '1 of 1 tenant config(s) fail with VC_LEGACY_MASTER_KEY: acme (does not decrypt); S1 step 1.3 would reject them (credential_decrypt_failed)',
    );
  });

  it('a legacy table without a contract column, or with a key of another type, fails legacy.contract naming table and column', async () => {
    const broken = await createTestMysqlDatabase('vc_preflight_broken');
    try {
      await loadIntoMysql(broken.url, { tenants: 1, sessions: 5, auditPerSession: 1, seed: 7, asOf: new Date(AS_OF), databases: broken.databases });
      const c = await mysql.createConnection({ uri: broken.url });
      await c.query('alter table VirtualSession drop column roomName');
      await c.query('alter table AuditLog modify id varchar(20) not null');
      await c.end();
      const report = await preflight({ VC_LEGACY_DATABASE_URL: broken.url, VC_PORTAL_DATABASE_URL: broken.portalUrl }, undefined);
      expect(statuses(report)['legacy.contract']).toBe('fail');
      expect(reasonOf(report, 'legacy.contract')).toBe('VirtualSession: missing column(s) roomName; AuditLog.id is varchar, expected an integer type');
      expect(statuses(report)['portal.contract']).toBe('pass');
    } finally {
      await broken.drop();
    }
  });

  it('a KMS that denies fails kms.round_trip with the denial, naming the key and the encryption context', async () => {
    kms.denyAll(true);
    try {
      const report = await preflight();
      expect(statuses(report)['kms.round_trip']).toBe('fail');
      expect(reasonOf(report, 'kms.round_trip')).toMatch(
        new RegExp(
          `^Encrypt with ${kms.keyIds[0]} under \\{tenantId: acme, purpose: jitsi-credentials\\} refused: .*access_denied \\(AccessDeniedException\\)$`,
        ),
      );
    } finally {
      kms.denyAll(false);
    }
  });

  it('a target database a newer build migrated fails target.schema, and the migrated-credentials check is not attempted', async () => {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      await client.query(`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from-a-newer-build', 4102444800000)`);
      const report = await preflight();
      expect(statuses(report)).toMatchObject({ 'target.schema': 'fail', 'credentials.target': 'skip' });
      expect(reasonOf(report, 'target.schema')).toBe(
        'the database has 1 migration(s) this build of virtual-care does not know: it was migrated by a newer version. Run the newer version, or restore the database from before it; refusing to use it.',
      );
    } finally {
      await client.query(`delete from drizzle.__drizzle_migrations where hash = 'from-a-newer-build'`);
      await client.end();
    }
  });

  it("a migrated config sealed under another tenant's context fails credentials.target; one under its own passes", async () => {
    const aws = await createKms(`aws:${kms.keyIds[0]}`, { aws: { endpoint: kms.url, region: 'us-east-1', credentials: 'stand-in' } });
    const sealed = (tenant: string) =>
      aws.encrypt(Buffer.from(encodeJitsiCredentials({ appSecret: 'preflight-app-secret-0123456789' }), 'utf8'), jitsiCredentialsContext(tenant));
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const save = async (ciphertext: string) =>
      client.query(
        `insert into tenant_virtual_care_configs (tenant_id, jitsi_server_url, jitsi_app_id, credentials_ciphertext, kms_key_id) values ('acme', 'https://meet.example.org', 'vc', $1, $2)
         on conflict (tenant_id) do update set credentials_ciphertext = excluded.credentials_ciphertext`,
        [ciphertext, kms.keyIds[0]],
      );
    try {
      await save(await sealed('globex'));
      const wrong = await preflight();
      expect(statuses(wrong)['credentials.target']).toBe('fail');
      expect(reasonOf(wrong, 'credentials.target')).toMatch(/^1 of 1 migrated config\(s\) do not decrypt with VC_KMS: acme \(/);
      await save(await sealed('acme'));
      const right = await preflight();
      expect([statuses(right)['credentials.target'], reasonOf(right, 'credentials.target')]).toEqual([
        'pass',
        "1 of 1 migrated config(s) decrypt with VC_KMS under their tenant's context",
      ]);
      expect(JSON.stringify([wrong, right])).not.toContain('preflight-app-secret');
    } finally {
      await client.query(`delete from tenant_virtual_care_configs where tenant_id = 'acme'`);
      await client.end();
    }
  });

  it('a role that may not create in the schemas fails target.privileges naming each schema and privilege', async () => {
    const role = `vc_preflight_${randomBytes(3).toString('hex')}`;
    const admin = new pg.Client({ connectionString: target.url });
    await admin.connect();
    try {
      // Connect and read only: PostgreSQL 15 grants PUBLIC no CREATE on public, and this role owns nothing.
      await admin.query(`create role ${role} login password 'preflight-role-password'`);
      await admin.query(`grant usage on schema vc_migration, drizzle to ${role}`);
      const url = new URL(target.url);
      url.username = role;
      url.password = 'preflight-role-password';
      const report = await preflight({ VC_DATABASE_URL: url.toString() });
      expect(statuses(report)['target.privileges']).toBe('fail');
      expect(reasonOf(report, 'target.privileges')).toBe(
        "no CREATE on schema public; no CREATE on schema vc_migration; no CREATE on schema drizzle: grant them to the migrator's role, or run S0 as the schema owner",
      );
      expect(JSON.stringify(report)).not.toContain('preflight-role-password');
    } finally {
      await admin.query(`drop owned by ${role}`).catch(() => undefined);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });

  it('the CLI exits 0 on a healthy set-up and 2 on a failing one, with --json, printing no secret', async () => {
    const healthy = await runMigratorJson<PreflightReport>(['preflight', '--tenant', 'acme', '--json'], env);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.json.status).toBe('pass');
    const wrongKey = randomBytes(32).toString('base64');
    const broken = await runMigratorJson<PreflightReport>(['preflight', '--tenant', 'acme', '--json'], { ...env, VC_LEGACY_MASTER_KEY: wrongKey });
    expect(broken.code).toBe(2);
    expect(broken.json.checks.find((c) => c.id === 'credentials.legacy')?.status).toBe('fail');
    expect(broken.stderr).toContain('preflight failed: credentials.legacy');
    for (const secret of [masterKey, wrongKey, env.AWS_SECRET_ACCESS_KEY!]) {
      for (const out of [healthy.stdout, healthy.stderr, broken.stdout, broken.stderr]) expect(out).not.toContain(secret);
    }
  });
});
