import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FIXTURE, legacyQuery, loadLegacyDatabases, type LegacyDatabases } from '../../validate/testing/harness';
import { createMysqlSource } from '../../legacy/mysql-source';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { fingerprintChecks, tenantFingerprints } from '../../validate/fingerprints';
import { SessionTally } from '../../validate/session-tally';
import { s1Watermark } from '../../validate/watermark';
import { runInProcess } from './testing/in-process-cli';

/**
 * Sessions the service made in shadow mode during the parallel run (docs/design.md §6–7: "VC_MODE=shadow
 * accepts mirrored traffic", S2 pairs them with legacy's "by tenant + patient + practitioner + scheduled start")
 * are the same appointments legacy holds. S4's delta sync ("including upcoming scheduled sessions") loads legacy's
 * copy of each: it adopts the service's shadow session instead of loading a twin (one session, its id and room
 * kept), by S2's matching rule, and rejects a row two shadow sessions fit. Real PostgreSQL and MariaDB, stand-ins
 * for Kong Admin API and FHIR; a shadow session is written as the service's POST /sessions writes it in shadow mode
 * (apps/service/src/sessions/create.ts: no legacy id, room `vc-<id>`, its `session.created` audit event, no outbox
 * row), which marks it no other way.
 */
const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      routes: [{ name: 'legacy-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};

const SHADOW_ID = '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5';
const MIRRORED_ID = '0b7e6a52-3c1d-4e2f-9a8b-7c6d5e4f3a21';
const PATIENT = 'Patient/p-shadow-1';
const PRACTITIONER = 'Practitioner/d-shadow-1';
const START = '2026-11-20 15:00:00';
const END = '2026-11-20 15:30:00';

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let kong: KongAdminStandIn;
let fhir: FhirStandIn;
let work: string;
const asOf = FIXTURE.asOf.toISOString();

beforeAll(async () => {
  [pg, legacy, kong, fhir, work] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('r4shadow'),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
    startFhirStandIn(),
    mkdtemp(join(tmpdir(), 'vc-r4shadow-')),
  ]);
  handle = await createDatabase(pg.url, { max: 3 });
  const env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KONG_ADMIN_URL: kong.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const s1 = await runInProcess(['phase', 's1', '--tenant', 'acme', '--as-of', asOf, '--max-reject-rate', '0.5']);
  expect(s1.code, s1.error).toBe(0);

  // The parallel run: a booking made after S1 reaches legacy and, mirrored, the service in shadow mode.
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900501, 'acme', ?, ?, ?, ?, 'scheduled', 'jitsi', '2026-11-05 09:00:00', '2026-11-05 09:00:00')`,
    [PATIENT, PRACTITIONER, START, END],
  );
  await shadowSession(SHADOW_ID, PATIENT, '2026-11-20T15:00:00Z', '2026-11-05T09:00:00.120Z');
  // A booking whose legacy row carries the service's session id as externalId (the shared id S2 pairs by first).
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, externalId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900502, 'acme', ?, 'Patient/p-shadow-2', ?, '2026-11-21 10:00:00', '2026-11-21 10:30:00', 'scheduled', 'jitsi', '2026-11-05 10:00:00', '2026-11-05 10:00:00')`,
    [MIRRORED_ID, PRACTITIONER],
  );
  await shadowSession(MIRRORED_ID, 'Patient/p-shadow-2', '2026-11-21T10:00:00Z', '2026-11-05T10:00:00.080Z');
  // A slot two shadow sessions fit (the mirror delivered a booking twice): which one is legacy's is not guessed.
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, status, videoBackend, createdAt, updatedAt)
     values (900503, 'acme', 'Patient/p-shadow-3', ?, '2026-11-22 11:00:00', '2026-11-22 11:30:00', 'scheduled', 'jitsi', '2026-11-05 11:00:00', '2026-11-05 11:00:00')`,
    [PRACTITIONER],
  );
  await shadowSession('1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5', 'Patient/p-shadow-3', '2026-11-22T11:00:00Z', '2026-11-05T11:00:00.050Z');
  await shadowSession('2d3e4f5a-6b7c-4d8e-9fa0-b1c2d3e4f5a6', 'Patient/p-shadow-3', '2026-11-22T11:00:00Z', '2026-11-05T11:00:00.090Z');
}, 300_000);

/** What the service's POST /sessions writes in shadow mode: the session and its `session.created` audit event. */
async function shadowSession(id: string, patient: string, start: string, at: string): Promise<void> {
  const end = new Date(Date.parse(start) + 30 * 60_000).toISOString();
  await handle.db.execute(sql`
    insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, video_backend, room_name, version, created_at, updated_at)
    values (${id}, 'acme', null, ${patient}, ${PRACTITIONER}, ${start}, ${end}, 'scheduled', 'jitsi', ${`vc-${id.replace(/-/g, '')}`}, 1, ${at}, ${at})`);
  await handle.db.execute(sql`
    insert into session_audit_events (tenant_id, session_id, action, actor_ref, details, occurred_at)
    values ('acme', ${id}, 'session.created', ${PRACTITIONER}, '{}'::jsonb, ${at})`);
}

afterAll(async () => {
  vi.unstubAllEnvs();
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), kong?.close(), fhir?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('S4 and the sessions the service made in shadow mode', { timeout: 240_000 }, () => {
  it('after the cutover an appointment mirrored during the parallel run is one session, not two', async () => {
    const s4 = await runInProcess([
      'phase',
      's4',
      '--tenant',
      'acme',
      '--as-of',
      '2026-11-10T00:00:00Z',
      '--service-upstream',
      'http://virtual-care.internal:8080',
      '--max-reject-rate',
      '0.5',
      '--json',
      ...PAST_THE_GATES,
    ]);
    expect(s4.code, s4.error ?? s4.stdout).toBe(0);
    const rows = await queryRows<{ id: string; legacy_id: string | null; room_name: string; migrators: boolean }>(
      handle.db,
      sql`select id, legacy_id, room_name, migrated_version = version as migrators from virtual_sessions
           where tenant_id = 'acme' and patient_ref = ${PATIENT} and practitioner_ref = ${PRACTITIONER} and scheduled_start = '2026-11-20T15:00:00Z'`,
    );
    expect(rows.map((r) => r.legacy_id ?? 'service (shadow)')).toHaveLength(1);
    // The shadow session itself, now legacy's: its id and room (the links already given out) kept; the migrator's
    // until the service writes it, so later syncs carry legacy's changes to it.
    expect(rows[0]).toEqual({ id: SHADOW_ID, legacy_id: '900501', room_name: `vc-${SHADOW_ID.replace(/-/g, '')}`, migrators: true });
  });

  it('a legacy externalId naming a shadow session adopts it (no duplicate_external_id); a slot two shadow sessions fit is a reject', async () => {
    const sessions = await queryRows<{ id: string; legacy_id: string | null; patient_ref: string }>(
      handle.db,
      sql`select id, legacy_id, patient_ref from virtual_sessions where tenant_id = 'acme' and patient_ref in ('Patient/p-shadow-2', 'Patient/p-shadow-3') order by patient_ref, id`,
    );
    expect(sessions).toEqual([
      { id: MIRRORED_ID, legacy_id: '900502', patient_ref: 'Patient/p-shadow-2' },
      { id: '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5', legacy_id: null, patient_ref: 'Patient/p-shadow-3' },
      { id: '2d3e4f5a-6b7c-4d8e-9fa0-b1c2d3e4f5a6', legacy_id: null, patient_ref: 'Patient/p-shadow-3' },
    ]);
    const rejects = await queryRows<{ legacy_key: string; reason: string }>(
      handle.db,
      sql`select legacy_key, reason from vc_migration.rejects where tenant_id = 'acme' and legacy_key in ('900501', '900502', '900503') order by legacy_key`,
    );
    expect(rejects).toEqual([{ legacy_key: '900503', reason: 'ambiguous_shadow_session' }]);
  });

  it('validate agrees: the adopted twins match legacy; only the ambiguous row, not loaded, differs', async () => {
    // As `migrator validate` runs these checks on MariaDB: the tally fed by the streamed fingerprint pass.
    const source = createMysqlSource(legacy.legacyUrl);
    try {
      const watermark = (await s1Watermark(handle.db, 'acme'))!;
      const tally = await SessionTally.of(handle.db, source, 'acme', watermark);
      const checks = fingerprintChecks('acme', await tenantFingerprints(handle.db, source, 'acme', watermark, 2, tally));
      const of = (id: string) => checks.find((c) => c.id === id)!;
      expect(tally.result('acme').status).toBe('pass');
      expect(of('fingerprints.participants').status).toBe('pass');
      // 900503 is legacy's and rejected, so no target row holds it until the operator settles it (runbooks/s4-cutover.md).
      expect(of('fingerprints.sessions')).toMatchObject({ actual: { differing: 1 }, samples: ['VirtualSession:900503'] });
    } finally {
      await source.close();
    }
  });
});
