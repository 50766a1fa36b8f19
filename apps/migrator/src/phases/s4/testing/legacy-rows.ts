import type { KongConfig } from '@vc/integrations/kong';
import type { Connection, ResultSetHeader } from 'mysql2/promise';

/** Test support for S4's row-level tests: single legacy rows put straight into MariaDB, and the routing S4 cuts over. */

/** The legacy gateway routing before any cutover (the Kong stand-in's initial declarative config). */
export const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://dc.internal:8080',
      routes: [{ name: 'legacy', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};

export type LegacyRowValues = Record<string, string | number | null>;

/** A completed historical VirtualSession of `tenant` (before the tests' as-of), with `overrides`. */
export const sessionValues = (tenant: string, overrides: LegacyRowValues = {}): LegacyRowValues => ({
  tenantId: tenant,
  externalId: null,
  patientRef: 'Patient/p-1',
  practitionerRef: 'Practitioner/d-1',
  scheduledStart: '2026-10-01 10:00:00',
  scheduledEnd: '2026-10-01 10:30:00',
  startedAt: '2026-10-01 10:00:00',
  endedAt: '2026-10-01 10:25:00',
  status: 'completed',
  videoBackend: 'jitsi',
  roomName: null,
  cancelReason: null,
  encounterRef: null,
  createdAt: '2026-09-01 08:00:00',
  updatedAt: '2026-09-01 08:00:00',
  ...overrides,
});

/** When the sessions of {@link heldInNovember} were booked: after the tests' S1 as-of (2026-11-01). */
export const BOOKED_AFTER_S1 = '2026-11-10 09:00:00';

/** A session held on `day` of November 2026 (10:02–10:28 of a 10:00–10:30 slot), booked after S1's as-of. */
export const heldInNovember = (tenant: string, day: number, overrides: LegacyRowValues = {}): LegacyRowValues =>
  sessionValues(tenant, {
    patientRef: `Patient/p-${day}`,
    scheduledStart: `2026-11-${day} 10:00:00`,
    scheduledEnd: `2026-11-${day} 10:30:00`,
    startedAt: `2026-11-${day} 10:02:00`,
    endedAt: `2026-11-${day} 10:28:00`,
    createdAt: BOOKED_AFTER_S1,
    updatedAt: BOOKED_AFTER_S1,
    ...overrides,
  });
/** A practitioner's `participant.joined` AuditLog row of session `entityId`, with `overrides`. */
export const eventValues = (tenant: string, entityId: string, overrides: LegacyRowValues = {}): LegacyRowValues => ({
  tenantId: tenant,
  entityType: 'VirtualSession',
  entityId,
  action: 'participant.joined',
  actorRef: 'Practitioner/d-1',
  actorDisplay: null,
  payload: null,
  occurredAt: '2026-10-01 10:01:00',
  ...overrides,
});

/** Inserts the rows one by one; their ids, in order. */
export async function insertRows(mariadb: Connection, table: 'VirtualSession' | 'AuditLog', rows: readonly LegacyRowValues[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) ids.push(String((await mariadb.query<ResultSetHeader>(`INSERT INTO ${table} SET ?`, [row]))[0].insertId));
  return ids;
}
