import { createFhirClient, SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureTenant, eventually, type Harness, patient, practitioner, recordConsent, scheduleSession, startHarness } from '../testing/harness';

const API = '/api/v1/virtual-care';

/**
 * A session the patient waited in and the practitioner ended without ever joining (waiting → ended).
 * The service bills nothing for it (no service was delivered: buildBillingEvent), yet the Encounter it sends
 * the EHR says `finished`. FHIR R4's encounter-status value set defines `finished` as "The Encounter has
 * ended" and `cancelled` as "The Encounter has ended before it has begun" — the latter is this session.
 */
describe('live mode: the Encounter of a session ended before it started', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'live' });
    await configureTenant(h, 'acme');
    await recordConsent(h, 'acme', 'Patient/pt-1', 'active');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is cancelled, not finished, as its bill (none) says', async () => {
    const id = await scheduleSession(h, 'acme');
    expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} })).status).toBe(200);
    const ended = await h.call<{ status: string; startedAt: string | null; endedAt: string }>('POST', `${API}/sessions/${id}/end`, {
      as: practitioner('acme'),
      body: {},
    });
    expect(ended.body).toMatchObject({ status: 'ended', startedAt: null });
    await eventually(
      async () => (await queryRows<{ n: number }>(h.db.db, sql`select count(*)::int as n from outbox where published_at is null`))[0]!.n === 0,
      'the outbox to drain',
    );
    expect(await queryRows(h.db.db, sql`select id from billing_events where session_id = ${id}`)).toEqual([]);
    const encounter = await createFhirClient({ baseUrl: h.fhir!.url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: id });
    expect(encounter?.status, 'FHIR R4 encounter-status: cancelled = "ended before it has begun"').toBe('cancelled');
    // It never began: no start, not even a zero-length one; its end is when it was ended.
    expect(encounter?.period).toEqual({ end: new Date(ended.body.endedAt).toISOString() });
  });
});
