import type { WarningCode } from '@vc/domain/legacy';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../../engine/types';
import { adoptShadowTwins, type ShadowLoad } from './shadow-twins';

/**
 * The rules of shadow-twin adoption on real PostgreSQL, after a cutover is recorded (as 4.3 meets them): a session
 * the live service created after the cutover is never adopted; a shadow session the live service changed after it
 * gets its legacy id but keeps the service's state; a second pass adopts nothing twice.
 */
const CUTOVER = '2026-11-15T00:00:00Z';
const PRACTITIONER = 'Practitioner/d-rules';
const LIVE = '3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7';
const TOUCHED = '4f5a6b7c-8d9e-4fa0-b1c2-d3e4f5a6b7c8';

let db: TestDatabase;
let client: pg.Client;
const ctx = () => ({
  tenantId: 'acme',
  query: async <T>(text: string, params?: readonly unknown[]) => (await client.query(text, params as unknown[])).rows as T[],
});
const tx = (): Tx =>
  ({
    query: ctx().query,
    async insertMany(table: string, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, options?: { onConflict?: string }) {
      for (const r of rows)
        await client.query(
          `insert into ${table} (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')}) on conflict ${options!.onConflict}`,
          [...r],
        );
      return rows.length;
    },
  }) as unknown as Tx;

async function serviceSession(id: string, patient: string, start: string, created: string, updated: string, status: string): Promise<void> {
  await client.query(
    `insert into virtual_sessions (id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, status, video_backend, room_name, version, created_at, updated_at)
     values ($1, 'acme', null, $2, $3, $4, $5, 'jitsi', $6, 1, $7, $8)`,
    [id, patient, PRACTITIONER, start, status, `vc-${id.replace(/-/g, '')}`, created, updated],
  );
}

function load(legacyId: string, patient: string, start: string): ShadowLoad {
  const at = new Date('2026-11-16T08:00:00Z');
  return {
    id: `00000000-0000-5000-8000-${legacyId.padStart(12, '0')}`,
    sourceRecord: legacyId,
    warnings: [] as WarningCode[],
    raw: { id: legacyId },
    session: {
      legacyId,
      tenantId: 'acme',
      externalId: null,
      patientRef: patient,
      practitionerRef: PRACTITIONER,
      scheduledStart: new Date(start),
      scheduledEnd: null,
      startedAt: null,
      endedAt: null,
      status: 'scheduled',
      cancelReason: null,
      videoBackend: 'jitsi',
      roomName: null,
      encounterRef: null,
      createdAt: at,
      updatedAt: at,
      endInferred: false,
      migratedFrom: {},
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`insert into vc_migration.cutovers (tenant_id, action, created_at) values ('globex', 'cutover', $1)`, [CUTOVER]);
  // Booked through the new service after the gateway switched: the service's own session, not a twin.
  await serviceSession(LIVE, 'Patient/p-live', '2026-11-25T09:00:00Z', '2026-11-16T09:00:00Z', '2026-11-16T09:00:00Z', 'scheduled');
  // Mirrored before the cutover, cancelled through the live service after it.
  await serviceSession(TOUCHED, 'Patient/p-touched', '2026-11-26T09:00:00Z', '2026-11-05T09:00:00Z', '2026-11-17T09:00:00Z', 'cancelled');
}, 120_000);

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

describe('shadow-twin adoption after the cutover', () => {
  it('leaves a session the live service created alone; a twin the live service changed keeps its state', async () => {
    const loads = [load('7001', 'Patient/p-live', '2026-11-25T09:00:00Z'), load('7002', 'Patient/p-touched', '2026-11-26T09:00:00Z')];
    const first = await adoptShadowTwins(ctx(), loads);
    expect(first.rejects).toEqual([]);
    expect(first.loads.map((l) => l.session.legacyId)).toEqual(['7001']);
    expect(first.adopted.map((a) => [a.load.session.legacyId, a.shadowId, a.serviceSince])).toEqual([['7002', TOUCHED, true]]);
    await first.write(tx());
    const { rows } = await client.query<{ id: string; legacy_id: string | null; status: string; room_name: string; migrators: boolean | null }>(
      `select id, legacy_id, status::text as status, room_name, migrated_version = version as migrators from virtual_sessions order by id`,
    );
    // The twin stays the service's (no version of it is the migrator's): a later sync never writes legacy over it.
    expect(rows).toEqual([
      { id: LIVE, legacy_id: null, status: 'scheduled', room_name: `vc-${LIVE.replace(/-/g, '')}`, migrators: null },
      { id: TOUCHED, legacy_id: '7002', status: 'cancelled', room_name: `vc-${TOUCHED.replace(/-/g, '')}`, migrators: false },
    ]);

    // The same rows met again (a resumed or repeated sync): nothing is adopted twice; the adopted one keeps its room.
    const again = await adoptShadowTwins(ctx(), loads);
    expect(again.adopted).toEqual([]);
    expect(again.loads.map((l) => [l.session.legacyId, l.session.roomName])).toEqual([
      ['7001', null],
      ['7002', `vc-${TOUCHED.replace(/-/g, '')}`],
    ]);
  });
});
