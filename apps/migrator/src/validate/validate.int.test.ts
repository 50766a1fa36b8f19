import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from '@vc/integrations/access-policy';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { r4Errors } from '@vc/integrations/testing';
import { digestOf, digestOfSum } from '../evidence/fingerprint';
import { createMysqlSource } from '../legacy/mysql-source';
import type { LegacySource } from '../legacy/types';
import { lockTenantPhase } from '../engine/lock';
import { lockTenantsForReading } from '../engine/read-lock';
import { checkBilling, RECENT_DAYS } from './billing';
import { seedLegacyEncounters } from '../testing/ehr-encounters';
import { legacySessionLeaves, targetSessionLeaves } from './fingerprints';
import { legacyParticipantLeaves, targetParticipantLeaves } from './participant-fingerprint';
import { SessionTally } from './session-tally';
import { checkSessionCounts } from './sessions';
import { streamedFingerprints } from './streamed-fingerprints';
import { runTargetCounts, tenantTargetCounts } from './target-counts';
import { s1Watermark } from './watermark';
import {
  filesUnder,
  FIXTURE,
  legacyQuery,
  loadLegacyDatabases,
  keyringSecrets,
  phiHits,
  producedOutput,
  runMigrator,
  type LegacyDatabases,
} from './testing/harness';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let accessPolicy: AccessPolicyStandIn;
let jitsi: JitsiStandIn;
let fhir: FhirStandIn;
let work: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();

interface ValidationJson {
  status: 'pass' | 'fail';
  checks: Array<{ id: string; tenant: string; status: 'pass' | 'fail' | 'error'; expected: unknown; actual: unknown; samples: string[] }>;
}

/** A legacy `completed` row of acme that never recorded its end: loads `ended` with ended_at NULL, and still needs its Encounter. */
let noEndLegacyId: string;

const migrator = (...args: string[]) => runMigrator(args, env);
const validate = (out: string, ...args: string[]) =>
  migrator('validate', ...args, '--as-of', asOf, '--report', 'json,junit,md', '--out', join(work, out), '--json');

beforeAll(async () => {
  [pg, legacy, accessPolicy, jitsi, fhir] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('val'),
    startAccessPolicyStandIn(),
    startJitsiStandIn(),
    startFhirStandIn(),
  ]);
  handle = await createDatabase(pg.url, { max: 2 });
  work = await mkdtemp(join(tmpdir(), 'vc-validate-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
    VC_MODE: 'shadow',
  };
  const [noEnd] = await legacyQuery<{ id: number }>(
    legacy.legacyUrl,
    "select id from VirtualSession where tenantId = 'acme' and trim(lower(status)) = 'completed' and startedAt is not null and endedAt is not null and encounterRef is null order by id limit 1",
  );
  noEndLegacyId = String(noEnd!.id);
  await legacyQuery(legacy.legacyUrl, 'update VirtualSession set endedAt = null where id = ?', [noEnd!.id]);
  // The EHR already holds the Encounters legacy made (its encounterRefs): validation looks each one up.
  const source = createMysqlSource(legacy.legacyUrl);
  expect(await seedLegacyEncounters(fhir.url, source, Object.keys(legacy.expected.tenants)).finally(() => source.close())).toBeGreaterThan(0);
  const s1 = await migrator('phase', 's1', '--tenant', 'acme', '--as-of', asOf, '--max-reject-rate', '0.5', '--json');
  expect(s1.code, s1.stderr).toBe(0);
  const s1b = await migrator('phase', 's1', '--tenant', 'globex', '--as-of', asOf, '--max-reject-rate', '0.5', '--json');
  expect(s1b.code, s1b.stderr).toBe(0);
  // Plan 2.1: the tenant admin repoints the config at the deployed Jitsi (PUT /config), which the service writes as it
  // writes every config change: a new version, stamped now. Validate then takes the config for the service's.
  await queryRows(
    handle.db,
    sql`update tenant_virtual_care_configs set jitsi_server_url = ${jitsi.url}, version = version + 1, updated_at = now() returning tenant_id`,
  );
  for (const tenant of ['acme', 'globex']) {
    // S2 2.4 creates the Encounters legacy never made (acme); globex, left without a config by S1, stops at 2.2.
    // No traffic was mirrored to the new service here: the parallel run compares the migrated copies only.
    // One Encounter at a time: the FHIR stand-in shares this test's process and serialises writes.
    const s2 = await migrator(
      'phase',
      's2',
      '--tenant',
      tenant,
      '--as-of',
      asOf,
      '--window',
      '14d',
      '--report-dir',
      join(work, 's2'),
      '--min-parallel-pairs',
      '0',
      '--concurrency',
      '1',
    );
    expect(s2.code, s2.stderr).toBe(tenant === 'acme' ? 0 : 1);
    const s3 = await migrator('phase', 's3', '--tenant', tenant, '--as-of', asOf, '--max-reject-rate', '0.5');
    expect(s3.code, s3.stderr).toBe(0);
  }
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([
    pg?.drop(),
    legacy?.drop(),
    accessPolicy?.close(),
    jitsi?.close(),
    fhir?.close(),
    work ? rm(work, { recursive: true, force: true }) : undefined,
  ]);
});

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('migrator validate (plan §5 checklist)', { timeout: 180_000 }, () => {
  it('passes a healthy tenant with every check of the checklist, every Encounter looked up in FHIR', async () => {
    const run = await validate('acme', '--tenant', 'acme');
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(
      report.checks.filter((c) => c.status !== 'pass'),
      run.stderr,
    ).toEqual([]);
    expect(run.code).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.checks.map((c) => c.id)).toEqual([
      'sessions.reconciled',
      'sessions.status',
      'configs.migrated',
      'configs.test_connection',
      'encounters.ended_sessions',
      'consents.accessible',
      'billing.recent_sessions',
      'fingerprints.sessions',
      'fingerprints.configs',
      'fingerprints.participants',
    ]);
    const sessions = legacy.expected.tenants.acme!.sessions;
    const rejected = Object.values(sessions.rejected).reduce((a, b) => a + b, 0);
    expect(report.checks[0]).toMatchObject({
      expected: { legacy: sessions.legacy },
      actual: { loaded: sessions.loaded, rejected, deferred: sessions.deferred },
    });
    const encounters = report.checks.find((c) => c.id === 'encounters.ended_sessions')!.actual as {
      ended: number;
      withEncounter: number;
      backfilled: number;
      checkedInFhir: number;
      notFoundInFhir: number;
    };
    expect(encounters.backfilled).toBeGreaterThan(0);
    // Every ref, legacy's and the migrator's: none is taken on trust.
    expect(encounters).toMatchObject({ checkedInFhir: encounters.withEncounter, notFoundInFhir: 0 });
    expect(encounters.withEncounter).toBe(encounters.ended);
  });

  it('gives the session whose end legacy never recorded a finished Encounter with what is known, valid R4', async () => {
    const [row] = await queryRows<{ id: string; ended_at: Date | null; started_at: Date }>(
      handle.db,
      sql`select id, ended_at, started_at from virtual_sessions where tenant_id = 'acme' and legacy_id = ${noEndLegacyId}`,
    );
    expect(row).toMatchObject({ ended_at: null });
    const encounter = await createFhirClient({ baseUrl: fhir.url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: row!.id });
    expect(encounter).toMatchObject({ status: 'finished', period: { start: new Date(row!.started_at).toISOString() } });
    expect(encounter?.period?.end).toBeUndefined();
    expect(r4Errors(encounter!)).toEqual([]);
  });

  /** One way of breaking the healthy tenant: what it breaks, the check and legacy ids it must be named by, and its undoing. */
  interface Breakage {
    name: string;
    check: string;
    break(): Promise<{ sample: string; restore(): Promise<void> }>;
  }
  const snapshot = async (table: 'virtual_sessions' | 'tenant_virtual_care_configs', where: ReturnType<typeof sql>) => {
    const [saved] = await queryRows<{ row: unknown }>(handle.db, sql`select to_jsonb(t) as row from ${sql.raw(table)} t where ${where}`);
    await queryRows(handle.db, sql`delete from ${sql.raw(table)} t where ${where} returning 1`);
    return () =>
      queryRows(
        handle.db,
        sql`insert into ${sql.raw(table)} select * from jsonb_populate_record(null::${sql.raw(table)}, ${JSON.stringify(saved!.row)}::jsonb) returning 1`,
      ).then(() => undefined);
  };
  const firstSession = async (condition: ReturnType<typeof sql>) =>
    (
      await queryRows<{ legacy_id: string; encounter_ref: string | null }>(
        handle.db,
        sql`select legacy_id, encounter_ref from virtual_sessions where tenant_id = 'acme' and legacy_id is not null and ${condition} order by legacy_id limit 1`,
      )
    )[0]!;
  const breakages: Breakage[] = [
    {
      name: 'a migrated session row deleted',
      check: 'sessions.reconciled',
      async break() {
        const { legacy_id } = await firstSession(sql`status = 'cancelled'`);
        return { sample: `VirtualSession:${legacy_id}`, restore: await snapshot('virtual_sessions', sql`tenant_id = 'acme' and legacy_id = ${legacy_id}`) };
      },
    },
    {
      name: 'a historical session with a wrong status',
      check: 'sessions.status',
      async break() {
        const { legacy_id } = await firstSession(sql`status = 'cancelled'`);
        const [{ cancel_reason } = { cancel_reason: null }] = await queryRows<{ cancel_reason: string | null }>(
          handle.db,
          sql`select cancel_reason from virtual_sessions where tenant_id = 'acme' and legacy_id = ${legacy_id}`,
        );
        // A cancel reason only on a cancelled session (a table constraint): it goes and comes back with the status.
        const set = (status: string, reason: string | null) =>
          queryRows(
            handle.db,
            sql`update virtual_sessions set status = ${status}, cancel_reason = ${reason} where tenant_id = 'acme' and legacy_id = ${legacy_id} returning 1`,
          );
        await set('scheduled', null);
        return { sample: `VirtualSession:${legacy_id}`, restore: () => set('cancelled', cancel_reason).then(() => undefined) };
      },
    },
    {
      name: 'the migrated config removed',
      check: 'configs.migrated',
      async break() {
        return { sample: 'TenantVirtualCareConfig:acme', restore: await snapshot('tenant_virtual_care_configs', sql`tenant_id = 'acme'`) };
      },
    },
    {
      name: 'an Encounter legacy recorded deleted in FHIR',
      check: 'encounters.ended_sessions',
      async break() {
        const { legacy_id, encounter_ref } = await firstSession(sql`encounter_ref like 'Encounter/e-%'`);
        const stored = await (await fetch(`${fhir.url}/${encounter_ref}`)).json();
        expect((await fetch(`${fhir.url}/${encounter_ref}`, { method: 'DELETE' })).ok).toBe(true);
        const put = () =>
          fetch(`${fhir.url}/${encounter_ref}`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(stored) });
        return { sample: `VirtualSession:${legacy_id}`, restore: async () => expect((await put()).ok).toBe(true) };
      },
    },
    {
      // Its era is placed by started_at (ended_at is NULL): a sample query on ended_at alone came back empty.
      name: 'the session whose end legacy never recorded lost its encounter_ref',
      check: 'encounters.ended_sessions',
      async break() {
        const { encounter_ref } = await firstSession(sql`legacy_id = ${noEndLegacyId} and ended_at is null`);
        expect(encounter_ref).not.toBeNull();
        const set = (ref: string | null) =>
          queryRows(handle.db, sql`update virtual_sessions set encounter_ref = ${ref} where tenant_id = 'acme' and legacy_id = ${noEndLegacyId} returning 1`);
        await set(null);
        return { sample: `VirtualSession:${noEndLegacyId}`, restore: () => set(encounter_ref).then(() => undefined) };
      },
    },
    {
      name: 'the Encounter of the session whose end legacy never recorded deleted in FHIR',
      check: 'encounters.ended_sessions',
      async break() {
        const { encounter_ref } = await firstSession(sql`legacy_id = ${noEndLegacyId} and ended_at is null`);
        const stored = await (await fetch(`${fhir.url}/${encounter_ref}`)).json();
        expect((await fetch(`${fhir.url}/${encounter_ref}`, { method: 'DELETE' })).ok).toBe(true);
        const put = () =>
          fetch(`${fhir.url}/${encounter_ref}`, { method: 'PUT', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(stored) });
        return { sample: `VirtualSession:${noEndLegacyId}`, restore: async () => expect((await put()).ok).toBe(true) };
      },
    },
    {
      name: "a migrated session's practitioner changed in the target",
      check: 'fingerprints.sessions',
      async break() {
        const { legacy_id } = await firstSession(sql`practitioner_ref is not null`);
        const [{ practitioner_ref }] = (await queryRows<{ practitioner_ref: string }>(
          handle.db,
          sql`select practitioner_ref from virtual_sessions where tenant_id = 'acme' and legacy_id = ${legacy_id}`,
        )) as [{ practitioner_ref: string }];
        const set = (ref: string) =>
          queryRows(handle.db, sql`update virtual_sessions set practitioner_ref = ${ref} where tenant_id = 'acme' and legacy_id = ${legacy_id} returning 1`);
        await set('Practitioner/edited-after-s1');
        return { sample: `VirtualSession:${legacy_id}`, restore: () => set(practitioner_ref).then(() => undefined) };
      },
    },
    {
      name: 'a session in the target that legacy never had',
      check: 'fingerprints.sessions',
      async break() {
        const { legacy_id } = await firstSession(sql`status = 'cancelled'`);
        await queryRows(
          handle.db,
          sql`insert into virtual_sessions (tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, cancel_reason, video_backend)
              select tenant_id, '990000001', patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, cancel_reason, video_backend
              from virtual_sessions where tenant_id = 'acme' and legacy_id = ${legacy_id} returning 1`,
        );
        const restore = () =>
          queryRows(handle.db, sql`delete from virtual_sessions where tenant_id = 'acme' and legacy_id = '990000001' returning 1`).then(() => undefined);
        return { sample: 'VirtualSession:990000001', restore };
      },
    },
    {
      name: "a backfilled participant's join count changed in the target",
      check: 'fingerprints.participants',
      async break() {
        const [row] = await queryRows<{ legacy_id: string; session_id: string; participant_ref: string }>(
          handle.db,
          sql`select s.legacy_id, p.session_id, p.participant_ref from session_participants p join virtual_sessions s on s.id = p.session_id
              where p.tenant_id = 'acme' and p.source = 'audit_backfill' order by s.legacy_id, p.participant_ref limit 1`,
        );
        const bump = (by: number) =>
          queryRows(
            handle.db,
            sql`update session_participants set join_count = join_count + ${by} where session_id = ${row!.session_id} and participant_ref = ${row!.participant_ref} returning 1`,
          );
        await bump(1);
        return { sample: `VirtualSession:${row!.legacy_id}`, restore: () => bump(-1).then(() => undefined) };
      },
    },
    {
      name: 'a consent revoked in access-policy',
      check: 'consents.accessible',
      async break() {
        // A patient with one consent only, active: revoking it changes their decision.
        const consents = accessPolicy.consents('acme');
        const perPatient = new Map<string, number>();
        for (const c of consents) perPatient.set(c.patient.reference, (perPatient.get(c.patient.reference) ?? 0) + 1);
        const active = consents
          .filter((c) => c.status === 'active' && perPatient.get(c.patient.reference) === 1 && !c.provision.period?.end)
          .sort((a, b) => Number(a.identifier[0]!.value) - Number(b.identifier[0]!.value))[0]!;
        const { id: _id, meta: _meta, ...content } = active;
        const put = (body: unknown) =>
          fetch(`${accessPolicy.url}/tenants/acme/Consent?identifier=${encodeURIComponent(`${active.identifier[0]!.system}|${active.identifier[0]!.value}`)}`, {
            method: 'PUT',
            headers: { 'Content-Type': 'application/fhir+json' },
            body: JSON.stringify(body),
          });
        expect((await put({ ...content, status: 'inactive' })).ok).toBe(true);
        return { sample: `telehealth_consent:${active.identifier[0]!.value}`, restore: async () => expect((await put(content)).ok).toBe(true) };
      },
    },
  ];

  it.each(breakages)('fails with exit 3 on $name, the JUnit naming $check and the legacy ids', async ({ name, check, break: breakIt }) => {
    const { sample, restore } = await breakIt();
    try {
      const out = `broken-${check}`;
      const run = await validate(out, '--tenant', 'acme');
      expect(run.code, run.stderr).toBe(3);
      const report = JSON.parse(run.stdout) as ValidationJson;
      const failing = report.checks.filter((c) => c.status !== 'pass');
      expect(
        failing.map((c) => c.id),
        name,
      ).toContain(check);
      expect(failing.find((c) => c.id === check)!.samples).toContain(sample);
      const junit = (await filesUnder(join(work, out))).find((f) => f.path.endsWith('validation.junit.xml'))!.text;
      expect(junit).toMatch(
        new RegExp(
          `<testcase name="${check.replace('.', '\\.')}" classname="validate\\.acme"[^>]*>\\s*<failure type="${check.replace('.', '\\.')}" message="[^"]*${sample}`,
        ),
      );
    } finally {
      await restore();
    }
  });

  /** The legacy id of acme's first migrated session that has participants. */
  const sessionWithParticipants = async () =>
    (
      (await queryRows<{ legacy_id: string }>(
        handle.db,
        sql`select s.legacy_id from virtual_sessions s where s.tenant_id = 'acme' and s.legacy_id is not null
              and exists (select 1 from session_participants p where p.session_id = s.id) order by s.legacy_id limit 1`,
      )) as [{ legacy_id: string }]
    )[0].legacy_id;

  /**
   * Runs `body` as if S1 1.4 had read legacy's AuditLog up to its newest row: rows a test inserts are then events S1
   * missed, not legacy's later writes, which validate leaves to S4 (late-events.ts).
   */
  async function asReadByS1(body: () => Promise<void>): Promise<void> {
    const [{ id }] = (await legacyQuery<{ id: number }>(legacy.legacyUrl, 'select max(id) as id from AuditLog')) as [{ id: number }];
    const through = (value: string) =>
      queryRows(
        handle.db,
        sql`update vc_migration.step_checkpoints set facts = jsonb_set(facts, '{eventsThrough}', to_jsonb(${value}::text))
            where tenant_id = 'acme' and phase = 's1' and step_id = '1.4' and key_range = '' returning 1`,
      );
    const [saved] = await queryRows<{ through: string }>(
      handle.db,
      sql`select facts->>'eventsThrough' as through from vc_migration.step_checkpoints
          where tenant_id = 'acme' and phase = 's1' and step_id = '1.4' and key_range = ''`,
    );
    await through(String(id));
    try {
      await body();
    } finally {
      await through(saved!.through);
    }
  }

  it('sums sessions and participants while streaming exactly as the per-id maps do, audit rows whose entityId is not digits alone included', async () => {
    const source = createMysqlSource(legacy.legacyUrl);
    const id = await sessionWithParticipants();
    try {
      const watermark = (await s1Watermark(handle.db, 'acme'))!;
      // Healthy: both tables agree by their sums alone, over many small batches (each with a batch in flight).
      const healthy = await streamedFingerprints(handle.db, source, 'acme', watermark, 7);
      for (const table of [healthy.sessions, healthy.participants]) {
        expect(table.complete).toBe(true);
        expect(table.legacy).toEqual(table.target);
      }
      // A run's one read of every tenant's counts says what each tenant's own read says.
      expect(await runTargetCounts(handle.db)('acme')).toEqual(await tenantTargetCounts(handle.db)('acme'));
      const viaRun = await streamedFingerprints(handle.db, source, 'acme', watermark, 7, undefined, runTargetCounts(handle.db));
      expect([viaRun.sessions.complete, viaRun.participants.complete]).toEqual([true, true]);
      // A target session no batch asks for: the run's counts see it, so the per-id maps get to name it.
      await queryRows(
        handle.db,
        sql`insert into virtual_sessions (tenant_id, legacy_id, patient_ref, status, video_backend)
            values ('acme', '990000002', 'Patient/extra', 'cancelled', 'jitsi') returning 1`,
      );
      try {
        const extra = await streamedFingerprints(handle.db, source, 'acme', watermark, 7, undefined, runTargetCounts(handle.db));
        expect(extra.sessions.complete).toBe(false);
      } finally {
        await queryRows(handle.db, sql`delete from virtual_sessions where tenant_id = 'acme' and legacy_id = '990000002' returning 1`);
      }
      // Rows the parser files under the session once trimmed ('␠id', 'id␠', 'id⇥'), and one the legacy collation
      // equals with the id but the parser does not (full-width digits): each must count once, or not at all, as S1 counts it.
      const fullWidth = [...id].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('');
      // '<id>␤': MariaDB's REGEXP is PCRE, whose `$` also matches before a final newline, so '^[0-9]+$' takes it
      // for digits alone; the `in` filter does not equal it with the id either (a newline is no pad space).
      const entityIds = [` ${id}`, `${id} `, `${id}\t`, `${id}\n`, fullWidth];
      for (const [i, entityId] of entityIds.entries())
        await legacyQuery(
          legacy.legacyUrl,
          `insert into AuditLog (tenantId, entityType, entityId, action, actorRef, actorDisplay, payload, occurredAt)
           values ('acme', 'VirtualSession', ?, 'participant.joined', ?, null, null, '2024-01-02 03:04:05.000')`,
          [entityId, `Device/odd-entity-${i}`],
        );
      await asReadByS1(async () => {
        const streamed = await streamedFingerprints(handle.db, source, 'acme', watermark, 7);
        const sessions = await legacySessionLeaves(source, 'acme', watermark, 7);
        const participants = await legacyParticipantLeaves(source, 'acme', new Set(sessions.leaves.keys()), 7);
        expect(digestOfSum(streamed.sessions.legacy.sum)).toBe(digestOf(sessions.leaves));
        expect(digestOfSum(streamed.sessions.target.sum)).toBe(digestOf(await targetSessionLeaves(handle.db, 'acme', sessions.deferred, 7)));
        expect(digestOfSum(streamed.participants.legacy.sum)).toBe(digestOf(participants.leaves));
        expect(digestOfSum(streamed.participants.target.sum)).toBe(digestOf(await targetParticipantLeaves(handle.db, 'acme', sessions.deferred)));
        expect(streamed.participants.legacy.rows).toBe(participants.leaves.size);
        // The target has none of them: the sums differ, and the per-id maps then name the session.
        expect(streamed.participants.legacy.sum).not.toBe(healthy.participants.legacy.sum);
        expect(streamed.sessions).toEqual(healthy.sessions);
      });
    } finally {
      await legacyQuery(legacy.legacyUrl, "delete from AuditLog where tenantId = 'acme' and actorRef like 'Device/odd-entity-%'");
      await source.close();
    }
  });

  it('does not find participants equal by their sums when legacy has an event the target lacks under an entityId ending in a newline', async () => {
    const source = createMysqlSource(legacy.legacyUrl);
    const id = await sessionWithParticipants();
    try {
      const watermark = (await s1Watermark(handle.db, 'acme'))!;
      // S1 files this join under the session (the parser trims the entityId); the target never got it.
      await legacyQuery(
        legacy.legacyUrl,
        `insert into AuditLog (tenantId, entityType, entityId, action, actorRef, actorDisplay, payload, occurredAt)
         values ('acme', 'VirtualSession', ?, 'participant.joined', 'Device/odd-entity-newline', null, null, '2024-01-02 03:04:05.000')`,
        [`${id}\n`],
      );
      await asReadByS1(async () => {
        const streamed = await streamedFingerprints(handle.db, source, 'acme', watermark, 7);
        expect(streamed.participants.complete && streamed.participants.legacy.sum === streamed.participants.target.sum).toBe(false);
      });
    } finally {
      await legacyQuery(legacy.legacyUrl, "delete from AuditLog where tenantId = 'acme' and actorRef = 'Device/odd-entity-newline'");
      await source.close();
    }
  });

  it('tallies sessions.reconciled in the streamed pass exactly as its own read does, a deleted target session named missing', async () => {
    const source = createMysqlSource(legacy.legacyUrl);
    const watermark = (await s1Watermark(handle.db, 'acme'))!;
    const { legacy_id: id } = (
      await queryRows<{ legacy_id: string }>(
        handle.db,
        sql`select legacy_id from virtual_sessions where tenant_id = 'acme' and legacy_id is not null and status = 'cancelled' order by legacy_id limit 1`,
      )
    )[0]!;
    const [saved] = await queryRows<{ row: unknown }>(
      handle.db,
      sql`select to_jsonb(t) as row from virtual_sessions t where tenant_id = 'acme' and legacy_id = ${id}`,
    );
    const both = async () => {
      const tally = await SessionTally.of(handle.db, source, 'acme', watermark);
      await streamedFingerprints(handle.db, source, 'acme', watermark, 7, tally);
      expect(tally.ended).toBe(true);
      return [tally.result('acme'), await checkSessionCounts(handle.db, source, 'acme', watermark, 7)] as const;
    };
    try {
      const [streamed, alone] = await both();
      expect(streamed).toEqual(alone);
      expect(streamed.status).toBe('pass');
      await queryRows(handle.db, sql`delete from virtual_sessions where tenant_id = 'acme' and legacy_id = ${id} returning 1`);
      const [brokenStreamed, brokenAlone] = await both();
      expect(brokenStreamed).toEqual(brokenAlone);
      expect([brokenStreamed.status, brokenStreamed.samples]).toEqual(['fail', [`VirtualSession:${id}`]]);
    } finally {
      await queryRows(
        handle.db,
        sql`insert into virtual_sessions select * from jsonb_populate_record(null::virtual_sessions, ${JSON.stringify(saved!.row)}::jsonb)
            on conflict do nothing returning 1`,
      );
      await source.close();
    }
  });

  it("counts on MySQL, from the recent sessions' billing rows alone, exactly what a read of every billing row counts", async () => {
    const source = createMysqlSource(legacy.legacyUrl);
    // The same reader taken for a CSV export: the check then reads every BillingEvent row of the tenant.
    const whole: LegacySource = { ...source, kind: 'csv' };
    const both = (tenant: string) =>
      Promise.all([checkBilling(handle.db, source, tenant, FIXTURE.asOf, 7), checkBilling(handle.db, whole, tenant, FIXTURE.asOf, 7)]);
    const [recent] = await queryRows<{ legacy_id: string }>(
      handle.db,
      sql`select s.legacy_id from virtual_sessions s join billing_events b on b.tenant_id = s.tenant_id and b.session_id = s.id
          where s.tenant_id = 'acme' and s.status = 'ended' and s.ended_at >= ${new Date(FIXTURE.asOf.getTime() - RECENT_DAYS * 86_400_000).toISOString()}::timestamptz
          order by s.legacy_id limit 1`,
    );
    expect(recent).toBeDefined();
    const [{ last }] = (await legacyQuery<{ last: number }>(legacy.legacyUrl, 'select max(id) as last from BillingEvent')) as [{ last: number }];
    try {
      for (const tenant of ['acme', 'globex']) {
        const [filtered, read] = await both(tenant);
        expect(filtered).toEqual(read);
      }
      expect((await both('acme'))[0].status).toBe('pass');
      // A legacy billing row the target lacks (of a recent session), and a void one it need not have.
      for (const status of ['sent', ' VOID '])
        await legacyQuery(
          legacy.legacyUrl,
          `insert into BillingEvent (tenantId, sessionId, code, modifier, placeOfService, units, occurredAt, status)
           values ('acme', ?, '99213', null, '02', 1, '2026-10-30 10:21:00', ?)`,
          [recent!.legacy_id, status],
        );
      const [filtered, read] = await both('acme');
      expect(filtered).toEqual(read);
      expect([filtered.status, filtered.samples]).toEqual(['fail', [`VirtualSession:${recent!.legacy_id}`]]);
    } finally {
      await legacyQuery(legacy.legacyUrl, 'delete from BillingEvent where id > ?', [last]);
      await source.close();
    }
  });

  it('reports a tenant whose Encounter check cannot complete (FHIR down) as error, still checks the rest and writes the report', async () => {
    fhir.setDown(true);
    let run;
    try {
      run = await validate('fhir-down', '--all-tenants');
    } finally {
      fhir.setDown(false);
    }
    expect(run.code).toBe(3);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const report = JSON.parse(run.stdout) as ValidationJson;
    const acme = report.checks.filter((c) => c.tenant === 'acme');
    expect(acme.find((c) => c.id === 'encounters.ended_sessions')).toMatchObject({
      status: 'error',
      actual: { error: expect.stringContaining('answered 503') },
    });
    expect(acme.filter((c) => c.id !== 'encounters.ended_sessions').every((c) => c.status === 'pass')).toBe(true);
    const junit = (await filesUnder(join(work, 'fhir-down'))).find((f) => f.path.endsWith('validation.junit.xml'))!.text;
    expect(junit).toContain('<error type="encounters.ended_sessions" message="encounters.ended_sessions could not complete for tenant acme');
  });

  it('healthy again after every breakage was undone', async () => {
    const run = await validate('acme-again', '--tenant', 'acme');
    expect(run.code, run.stderr).toBe(0);
  });

  it('does not read a tenant while a run of a writing phase holds its lock: its checks are errors naming the run, the other tenants are read', async () => {
    // What an S4 run of acme holds (engine/lock.ts), taken in this process on the test's own pool.
    const writer = await lockTenantPhase(handle, 'acme', 's4');
    let run;
    try {
      run = await validate('acme-s4-running', '--all-tenants');
    } finally {
      await writer.release();
    }
    expect(run.code).toBe(3);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    const report = JSON.parse(run.stdout) as ValidationJson;
    const acme = report.checks.filter((c) => c.tenant === 'acme');
    expect(acme.map((c) => c.status)).toEqual(Array(10).fill('error'));
    for (const check of acme) expect(check.actual).toEqual({ error: 'LockHeld: a run is writing tenant acme: its rows are read once that run has ended' });
    // The other tenants were read: each got verdicts of its own, none refused.
    const others = report.checks.filter((c) => c.tenant !== 'acme');
    expect(new Set(others.map((c) => c.tenant))).toEqual(new Set(Object.keys(legacy.expected.tenants).filter((t) => t !== 'acme')));
    expect(others.filter((c) => c.status !== 'error')).toHaveLength(others.length);
    // The lock is given back: acme is checked again at once.
    expect((await validate('acme-after-s4', '--tenant', 'acme')).code).toBe(0);
  });

  it('keeps every s1-s4 run out of a tenant being read, a key range too, while readers share and a rollback goes ahead', async () => {
    // Each holder keeps a connection of its own: more than the file's pool of two.
    const handle = await createDatabase(pg.url, { max: 4 });
    try {
      const [reader, second] = [await lockTenantsForReading(handle, ['acme']), await lockTenantsForReading(handle, ['acme', 'initech'])];
      try {
        expect([reader.refused.size, second.refused.size]).toEqual([0, 0]);
        for (const [phase, range] of [
          ['s1', undefined],
          ['s1', 'r1'],
          ['s3', undefined],
          ['s4', undefined],
        ] as const)
          await expect(lockTenantPhase(handle, 'acme', phase, range)).rejects.toThrow(/^validate or an evidence pack is reading tenant acme; run /);
        // Another tenant, and a phase that writes nothing validate compares, are not held up.
        await (await lockTenantPhase(handle, 'umbrella', 's4')).release();
        await (await lockTenantPhase(handle, 'acme', 's0')).release();
        // S4's rollback (incident response) takes the s4 lock without the writing key.
        await (await lockTenantPhase(handle, 'acme', 's4', undefined, false)).release();
      } finally {
        await reader.release();
        await second.release();
      }
      await (await lockTenantPhase(handle, 'acme', 's1', 'r1')).release();
    } finally {
      await handle.close();
    }
  });

  it('fails the deliberately broken tenant with exit 3, and its JUnit XML names the failing check', async () => {
    const run = await validate('globex', '--tenant', 'globex');
    expect(run.code).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(report.status).toBe('fail');
    const failing = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    // No config: no test-connection, and S2 (whose 2.4 carries legacy billing over) could not run for globex.
    expect(failing).toEqual(['configs.migrated', 'configs.test_connection', 'encounters.ended_sessions', 'billing.recent_sessions']);
    expect(report.checks.find((c) => c.id === 'configs.migrated')).toMatchObject({
      actual: { migrated: false, rejectReason: 'credential_decrypt_failed' },
      samples: ['TenantVirtualCareConfig:globex'],
    });
    const junit = (await filesUnder(join(work, 'globex'))).find((f) => f.path.endsWith('validation.junit.xml'))!.text;
    expect(junit).toContain('<testcase name="configs.migrated" classname="validate.globex"');
    expect(junit).toMatch(/<failure type="configs\.migrated" message="configs\.migrated failed for tenant globex/);
    expect(junit).toContain('failures="4"');
  });

  it('reports every tenant in one run and fails when any tenant fails', async () => {
    const run = await validate('all', '--all-tenants');
    expect(run.code, run.stderr).toBe(3);
    const report = JSON.parse(run.stdout) as ValidationJson;
    expect(new Set(report.checks.map((c) => c.tenant))).toEqual(new Set(Object.keys(legacy.expected.tenants)));
    expect(Object.keys(report)).toEqual(['status', 'checks']);
    for (const check of report.checks) expect(Object.keys(check)).toEqual(['id', 'tenant', 'status', 'expected', 'actual', 'samples']);
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await migrator('validate', '--tenant', 'acme', '--all-tenants')).code).toBe(2);
    expect((await migrator('validate', '--tenant', 'acme', '--report', 'html')).code).toBe(2);
  });

  it('no report or log of these runs carries a patient ref, display name or secret', async () => {
    const reports = await filesUnder(work);
    expect(reports.filter((f) => f.path.endsWith('.xml') || f.path.endsWith('.md') || f.path.endsWith('.json')).length).toBeGreaterThan(6);
    const logs = producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text }));
    const keys = await keyringSecrets(join(work, 'kms.json'));
    expect(keys.length).toBeGreaterThan(0);
    expect(phiHits([...reports.filter((f) => !f.path.endsWith('kms.json')), ...logs], [...legacy.sensitive, ...keys])).toEqual([]);
  });
});
