import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { normalizeKongConfig, startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeTextDigest } from '../../ledger/canonical';
import { FIXTURE, legacyQuery, loadLegacyDatabases, phiHits, producedOutput, runMigrator, type LegacyDatabases } from '../../validate/testing/harness';
import { PAST_THE_GATES } from '../../testing/past-the-gates';

const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      routes: [
        { name: 'legacy-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false },
        { name: 'legacy-messages', paths: ['/api/v1/digital-communication/messages'], strip_path: false },
      ],
    },
  ],
};

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let kong: KongAdminStandIn;
let fhir: FhirStandIn;
let work: string;
let env: Record<string, string>;
const asOf = FIXTURE.asOf.toISOString();
const migrator = (...args: string[]) => runMigrator(args, env);
const s4 = (...extra: string[]) =>
  migrator(
    'phase',
    's4',
    '--tenant',
    'acme',
    '--as-of',
    asOf,
    '--service-upstream',
    'http://virtual-care.internal:8080',
    '--max-reject-rate',
    '0.5',
    '--json',
    ...PAST_THE_GATES,
    ...extra,
  );

const sessionsOf = (tenant: string) =>
  queryRows<{ legacy_id: string; status: string; version: number }>(
    handle.db,
    sql`select legacy_id, status, version from virtual_sessions where tenant_id = ${tenant} and legacy_id is not null order by legacy_id`,
  );
const backfilled = () =>
  queryRows<{ legacy_id: string; phase: string; encounter_ref: string }>(
    handle.db,
    sql`select s.legacy_id, b.phase, s.encounter_ref from vc_migration.encounter_backfills b join virtual_sessions s on s.id = b.session_id
        where b.tenant_id = 'acme' and b.encounter_ref = s.encounter_ref order by s.legacy_id`,
  );
const cutoverActions = async () =>
  await queryRows<{ action: string; forced: boolean; reason: string | null }>(
    handle.db,
    sql`select action, forced, reason from vc_migration.cutovers where tenant_id = 'acme' order by created_at, id`,
  );

let changedId: string;

beforeAll(async () => {
  [pg, legacy, kong, fhir] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('s4'),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
    startFhirStandIn(),
  ]);
  handle = await createDatabase(pg.url, { max: 2 });
  work = await mkdtemp(join(tmpdir(), 'vc-s4-'));
  env = {
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KONG_ADMIN_URL: kong.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  const s1 = await migrator('phase', 's1', '--tenant', 'acme', '--as-of', asOf, '--max-reject-rate', '0.5');
  expect(s1.code, s1.stderr).toBe(0);
  // Legacy keeps working after S1: a cancelled session is edited (it happened after all) and a new one is booked.
  const [cancelled] = await legacyQuery<{ id: number }>(
    legacy.legacyUrl,
    "select id from VirtualSession where tenantId = 'acme' and lower(trim(status)) = 'cancelled' and patientRef <> '' order by id limit 1",
  );
  changedId = String(cancelled!.id);
  await legacyQuery(
    legacy.legacyUrl,
    "update VirtualSession set status = 'completed', startedAt = scheduledStart, endedAt = scheduledEnd, updatedAt = '2026-11-02 09:00:00' where id = ?",
    [cancelled!.id],
  );
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900001, 'acme', 'Patient/p-s4-new', 'Practitioner/d-s4', '2026-11-20 10:00:00', '2026-11-20 10:30:00', 'scheduled', 'jitsi', '2026-11-02 08:00:00', '2026-11-02 08:00:00')`,
  );
  // A session entered late (after S1 read legacy) that already took place, with its participant history.
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, createdAt, updatedAt)
     values (900003, 'acme', 'Patient/p-s4-late', 'Practitioner/d-s4', '2026-10-31 10:00:00', '2026-10-31 10:30:00', '2026-10-31 10:02:00', '2026-10-31 10:25:00', 'completed', 'jitsi', '2026-10-30 08:00:00', '2026-11-02 08:00:00')`,
  );
  for (const [actor, action, at] of [
    ['Patient/p-s4-late', 'participant.joined', '10:02:00'],
    ['Practitioner/d-s4', 'participant.joined', '10:01:00'],
    ['Patient/p-s4-late', 'participant.left', '10:25:00'],
  ]) {
    await legacyQuery(
      legacy.legacyUrl,
      `insert into AuditLog (tenantId, entityType, entityId, action, actorRef, occurredAt) values ('acme', 'VirtualSession', '900003', ?, ?, ?)`,
      [action, actor, `2026-10-31 ${at}`],
    );
  }
}, 300_000);

afterAll(async () => {
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), kong?.close(), fhir?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

// Each test runs the CLI as a child process a few times: slower than vitest's default on a busy machine.
describe('phase s4: delta sync, Kong cutover, rollback, decommission', { timeout: 180_000 }, () => {
  it('delta-syncs legacy changes since the S1 watermark, loading upcoming sessions as scheduled', async () => {
    const run = await s4();
    expect(run.code, run.stderr).toBe(0);
    const sessions = await sessionsOf('acme');
    const expected = legacy.expected.tenants.acme!.sessions;
    // Everything S1 deferred is in now, plus the two sessions entered after S1.
    expect(sessions).toHaveLength(expected.loaded + expected.deferred + 2);
    expect(sessions.find((s) => s.legacy_id === '900003')).toMatchObject({ status: 'ended' });
    const late = await queryRows<{ role: string; join_count: number; left: boolean }>(
      handle.db,
      sql`select p.role, p.join_count, p.last_left_at is not null as left from session_participants p join virtual_sessions s on s.id = p.session_id
          where s.tenant_id = 'acme' and s.legacy_id = '900003' order by p.role`,
    );
    expect(late).toEqual([
      { role: 'patient', join_count: 1, left: true },
      { role: 'practitioner', join_count: 1, left: false },
    ]);
    expect(sessions.find((s) => s.legacy_id === '900001')).toMatchObject({ status: 'scheduled', version: 1 });
    expect(sessions.find((s) => s.legacy_id === changedId)).toMatchObject({ status: 'ended', version: 2 });
    const upcoming = sessions.filter((s) => !['ended', 'cancelled'].includes(s.status));
    expect(upcoming.every((s) => s.status === 'scheduled')).toBe(true);
  });

  it('creates the Encounters legacy never made for ended sessions, delta-synced ones included', async () => {
    const made = await backfilled();
    expect(made.map((b) => b.legacy_id)).toEqual(expect.arrayContaining(['900003', changedId]));
    expect(new Set(made.map((b) => b.phase))).toEqual(new Set(['s4']));
    expect(await fhir.encounterCount()).toBe(made.length);
    const [left] = await queryRows<{ n: number }>(
      handle.db,
      sql`select count(*)::int as n from virtual_sessions where tenant_id = 'acme' and legacy_id is not null and status = 'ended' and encounter_ref is null`,
    );
    expect(left!.n).toBe(0);
  });

  it('snapshots the routing before the cutover and points Kong at the new service with legacy 301s', async () => {
    const [record] = await queryRows<{ action: string; previous_routing: KongConfig; applied_routing: KongConfig }>(
      handle.db,
      sql`select action, previous_routing, applied_routing from vc_migration.cutovers where tenant_id = 'acme'`,
    );
    expect(record!.action).toBe('cutover');
    expect(normalizeKongConfig(record!.previous_routing)).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    const now = normalizeKongConfig(kong.current());
    expect(now).toEqual(normalizeKongConfig(record!.applied_routing));
    const service = now.services.find((s) => s.name === 'virtual-care-service');
    expect(service?.url).toBe('http://virtual-care.internal:8080');
    expect(service?.routes?.flatMap((r) => r.paths)).toContain('/api/v1/virtual-care');
    const legacySessions = now.services.find((s) => s.name === 'digital-communication')?.routes?.find((r) => r.name === 'legacy-sessions');
    expect(legacySessions?.plugins?.map((p) => p.name)).toEqual(['pre-function']);
  });

  it('a re-run changes nothing, even when the delta sync is forced to run again', async () => {
    const participants = () =>
      queryRows(
        handle.db,
        sql`select session_id, participant_ref, join_count, first_joined_at, last_left_at from session_participants where tenant_id = 'acme' order by 1, 2`,
      );
    const before = {
      sessions: await sessionsOf('acme'),
      participants: await participants(),
      kong: normalizeKongConfig(kong.current()),
      cutovers: await cutoverActions(),
    };
    expect((await s4()).code).toBe(0);
    const again = await s4('--restart-step', '4.1');
    expect(again.code, again.stderr).toBe(0);
    expect(await sessionsOf('acme')).toEqual(before.sessions);
    expect(await participants()).toEqual(before.participants);
    expect(normalizeKongConfig(kong.current())).toEqual(before.kong);
    expect(await cutoverActions()).toEqual(before.cutovers);
    expect(await fhir.encounterCount()).toBe((await backfilled()).length);
  });

  it('a later legacy edit of a session keeps the Encounter the migrator made for it', async () => {
    const before = (await backfilled()).find((b) => b.legacy_id === '900003');
    await legacyQuery(legacy.legacyUrl, "update VirtualSession set endedAt = '2026-10-31 10:26:00', updatedAt = '2026-11-03 09:00:00' where id = 900003");
    const run = await s4('--restart-step', '4.1');
    expect(run.code, run.stderr).toBe(0);
    expect((await sessionsOf('acme')).find((s) => s.legacy_id === '900003')).toMatchObject({ status: 'ended', version: 2 });
    expect((await backfilled()).find((b) => b.legacy_id === '900003')).toEqual(before);
  });

  it("when legacy later records its own Encounter for a backfilled session, legacy's wins and the duplicate is reported", async () => {
    await legacyQuery(
      legacy.legacyUrl,
      "update VirtualSession set encounterRef = 'Encounter/legacy-late-900003', updatedAt = '2026-11-04 09:00:00' where id = 900003",
    );
    const run = await s4('--restart-step', '4.1');
    expect(run.code, run.stderr).toBe(0);
    const [session] = await queryRows<{ encounter_ref: string }>(
      handle.db,
      sql`select encounter_ref from virtual_sessions where tenant_id = 'acme' and legacy_id = '900003'`,
    );
    expect(session!.encounter_ref).toBe('Encounter/legacy-late-900003');
    const summary = JSON.parse(run.stdout) as { warnings: Record<string, number> };
    expect(summary.warnings.backfilled_encounter_superseded).toBe(1);
    expect(run.stderr).toContain('VirtualSession:900003');
    const [facts] = await queryRows<{ facts: Record<string, unknown> }>(
      handle.db,
      sql`select facts from vc_migration.step_checkpoints where tenant_id = 'acme' and phase = 's4' and step_id = '4.1'`,
    );
    expect(facts!.facts).toMatchObject({ supersededBackfills: { count: 1, samples: ['VirtualSession:900003'] } });
  });

  it('rollback restores the previous routing, records it, and a second rollback changes nothing', async () => {
    const run = await migrator('rollback', 's4', '--tenant', 'acme', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ phase: 's4', tenant: 'acme', status: 'rolled_back' });
    expect(normalizeKongConfig(kong.current())).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    expect((await cutoverActions()).map((c) => c.action)).toEqual(['cutover', 'rollback']);
    const second = await migrator('rollback', 's4', '--tenant', 'acme', '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'nothing_to_roll_back', changes: [] });
    expect(normalizeKongConfig(kong.current())).toEqual(normalizeKongConfig(LEGACY_ROUTING));
  });

  it('decommission is refused without a cutover in force', async () => {
    const run = await migrator('phase', 's4', 'decommission', '--tenant', 'acme');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('tenant acme has no cutover in force');
  });

  it('after cutting over again, decommission is refused inside the stability window unless forced with a recorded reason', async () => {
    expect((await s4()).code).toBe(0);
    expect(normalizeKongConfig(kong.current()).services.map((s) => s.name)).toContain('virtual-care-service');
    const refused = await migrator('phase', 's4', 'decommission', '--tenant', 'acme');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/inside the 2-week stability window until \d{4}-\d{2}-\d{2}T/);
    const noReason = await migrator('phase', 's4', 'decommission', '--tenant', 'acme', '--force');
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--force needs --reason');
    const forced = await migrator('phase', 's4', 'decommission', '--tenant', 'acme', '--force', '--reason', 'CHG-1234 legacy host retired early', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ tenant: 'acme', status: 'decommissioned', forced: true });
    expect((await cutoverActions()).at(-1)).toEqual({ action: 'decommission', forced: true, reason: freeTextDigest('CHG-1234 legacy host retired early') });
  });

  it('with a decK file instead of the Admin API: the file is cut over in place and rolled back', async () => {
    const file = join(work, 'kong.yaml');
    const legacyYaml = [
      '_format_version: "3.0"',
      'services:',
      '  - name: digital-communication',
      '    url: http://digital-communication.internal:8080',
      '    routes:',
      '      - name: legacy-sessions',
      '        paths: [/api/v1/digital-communication/virtual-sessions]',
      '        strip_path: false',
      '',
    ].join('\n');
    await writeFile(file, legacyYaml);
    const fileEnv = { ...env, VC_KONG_FILE: file };
    delete (fileEnv as Record<string, string | undefined>).VC_KONG_ADMIN_URL;
    const s1 = await runMigrator(['phase', 's1', '--tenant', 'initech', '--as-of', asOf, '--max-reject-rate', '0.5'], fileEnv);
    expect(s1.code, s1.stderr).toBe(0);
    const cut = await runMigrator(
      [
        'phase',
        's4',
        '--tenant',
        'initech',
        '--as-of',
        asOf,
        '--service-upstream',
        'http://virtual-care.internal:8080',
        '--max-reject-rate',
        '0.5',
        ...PAST_THE_GATES,
      ],
      fileEnv,
    );
    expect(cut.code, cut.stderr).toBe(0);
    const after = await readFile(file, 'utf8');
    expect(after).toMatch(/_format_version: "?3\.0"?/);
    expect(after).toContain('name: virtual-care-service');
    expect(after).toContain('name: pre-function');
    const back = await runMigrator(['rollback', 's4', '--tenant', 'initech', '--json'], fileEnv);
    expect(back.code, back.stderr).toBe(0);
    const restored = await readFile(file, 'utf8');
    expect(restored).not.toContain('virtual-care-service');
    expect(restored).not.toContain('pre-function');
    expect(restored).toContain('name: legacy-sessions');
  });

  it('never prints a patient ref, display name or secret', () => {
    expect(
      phiHits(
        producedOutput().map((text, i) => ({ path: `cli-run-${i}`, text })),
        [...legacy.sensitive, 'Patient/p-s4-new', 'Patient/p-s4-late'],
      ),
    ).toEqual([]);
  });
});
