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
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { runInProcess } from './testing/in-process-cli';

/**
 * Review 4: sessions the service made in shadow mode during the parallel run (docs/design.md §6–7: "VC_MODE=shadow
 * accepts mirrored traffic", S2 pairs them with legacy's "by tenant + patient + practitioner + scheduled start")
 * are the same appointments legacy holds. S4's delta sync ("including upcoming scheduled sessions") loads legacy's
 * copy beside the service's: after the cutover one appointment is two sessions (two rooms, two join links), and
 * the runbooks say nothing of what becomes of the shadow copies. Real PostgreSQL and MariaDB, stand-ins for
 * Kong Admin API and FHIR; the shadow session is written as the service writes a POST /sessions row.
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
  await handle.db.execute(sql`
    insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, status, video_backend, room_name, version, created_at, updated_at)
    values ('6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5', 'acme', null, ${PATIENT}, ${PRACTITIONER}, '2026-11-20T15:00:00Z', '2026-11-20T15:30:00Z', 'scheduled', 'jitsi',
            'vc-6f1c2d3e4b5a4c6d8e7f8091a2b3c4d5', 1, '2026-11-05T09:00:00.120Z', '2026-11-05T09:00:00.120Z')`);
}, 300_000);

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
    const rows = await queryRows<{ id: string; legacy_id: string | null; room_name: string }>(
      handle.db,
      sql`select id, legacy_id, room_name from virtual_sessions
           where tenant_id = 'acme' and patient_ref = ${PATIENT} and practitioner_ref = ${PRACTITIONER} and scheduled_start = '2026-11-20T15:00:00Z'`,
    );
    expect(rows.map((r) => r.legacy_id ?? 'service (shadow)')).toHaveLength(1);
  });
});
