import type { startKongAdminStandIn } from '@vc/integrations/kong';
import type mysql from 'mysql2/promise';

/**
 * Test support: hand-written legacy rows for the tests that place single sessions and participant events
 * around S1's and S4's as-of, and the Kong routing a tenant has before its cutover.
 */
export type LegacyValues = Record<string, string | null>;

/** A VirtualSession held and ended on 2026-10-01, created and last updated on 2026-09-01, with `overrides`. */
export const legacySession = (tenant: string, overrides: LegacyValues = {}): LegacyValues => ({
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

/** A practitioner's `participant.joined` of session `entityId`, with `overrides`. */
export const legacyEvent = (tenant: string, entityId: string, overrides: LegacyValues = {}): LegacyValues => ({
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

/** Inserts the rows one by one and returns their auto-increment ids, in order. */
export async function insertLegacy(connection: mysql.Connection, table: 'VirtualSession' | 'AuditLog', rows: LegacyValues[]): Promise<string[]> {
  const ids: string[] = [];
  for (const row of rows) ids.push(String((await connection.query<mysql.ResultSetHeader>(`INSERT INTO ${table} SET ?`, [row]))[0].insertId));
  return ids;
}

/** The decK state of a gateway before any cutover: legacy digital-communication serves the session routes. */
export const LEGACY_ROUTING: NonNullable<Parameters<typeof startKongAdminStandIn>[0]>['initial'] = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://dc.internal:8080',
      routes: [{ name: 'legacy', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};
