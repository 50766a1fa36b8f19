import { randomUUID } from 'node:crypto';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEndedInWindow } from './window-checks';

let pg: TestDatabase;
let handle: DatabaseHandle;

beforeAll(async () => {
  pg = await createTestDatabase();
  handle = await createDatabase(pg.url, { max: 2 });
});
afterAll(async () => {
  await handle?.close();
  await pg?.drop();
});

/** A native session the service ended, with its billing and audit, and the FHIR request its relay holds. */
async function endedWithEncounterRequest(refused: boolean): Promise<string> {
  const id = randomUUID();
  await queryRows(
    handle.db,
    sql`insert into virtual_sessions (id, tenant_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status)
        values (${id}, 'acme', 'Patient/p-1', 'Practitioner/d-1', '2026-10-30T10:00:00Z', '2026-10-30T10:30:00Z', '2026-10-30T10:01:00Z', '2026-10-30T10:21:00Z', 'ended') returning id`,
  );
  await queryRows(
    handle.db,
    sql`insert into billing_events (tenant_id, session_id, code, modifier, place_of_service, occurred_at) values ('acme', ${id}, '99213', '95', '02', '2026-10-30T10:21:00Z') returning id`,
  );
  await queryRows(
    handle.db,
    sql`insert into session_audit_events (tenant_id, session_id, action, occurred_at) values ('acme', ${id}, 'session.ended', '2026-10-30T10:21:00Z') returning id`,
  );
  await queryRows(
    handle.db,
    sql`insert into outbox (tenant_id, kind, subject, aggregate_id, payload, attempts, refused_at, refused_reason)
        values ('acme', 'fhir_encounter', 'Encounter', ${id}, '{}'::jsonb, 1, ${refused ? sql`now()` : null}, ${refused ? 'fhir 412 (OperationOutcome: duplicate)' : null}) returning id`,
  );
  return id;
}

describe('2.4 window checks', () => {
  it('counts an Encounter request still pending as present, and one FHIR refused for good (parked) as missing', async () => {
    const pending = await endedWithEncounterRequest(false);
    const parked = await endedWithEncounterRequest(true);
    const found = await checkEndedInWindow(handle.db, 'acme', { from: new Date('2026-10-30T00:00:00Z'), to: new Date('2026-10-31T00:00:00Z') }, 'live');
    expect(found).toMatchObject({ ended: 2, encounters: { ok: 1, missing: [`session:${parked}`] }, billing: { missing: [] }, audit: { missing: [] } });
    expect(found.encounters.missing).not.toContain(`session:${pending}`);
  });
});
