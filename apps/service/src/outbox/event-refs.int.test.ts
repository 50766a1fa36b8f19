import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { configureTenant, type Harness, patient, practitioner, recordConsent, scheduleSession, startHarness } from '../testing/harness';

/**
 * Which refs each CloudEvent carries, as apps/service/README.md lists them: the patient ref only on
 * `session.created`; a participant ref only for practitioners; no display name anywhere. Read from the
 * outbox rows, which hold the CloudEvents exactly as the relay publishes them.
 */
const API = '/api/v1/virtual-care';
const tenant = 'event-refs';
const PATIENT = 'Patient/refs-canary-4410';
const NAMES = ['Patient Canary Name', 'Doctor Canary Name'];
/** Clinical free text, as a cancel reason may hold: it stays on the session and its audit, never in an event. */
const CANCEL_REASON = 'Pt admitted to ER with chest pain, DOB 1961-02-03';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, tenant);
  await recordConsent(h, tenant, PATIENT, 'active');
});
afterAll(async () => {
  await h?.close();
});

/** The data members naming a FHIR resource (`…Ref`) that are set, sorted. */
const refsOf = (data: Record<string, unknown>) =>
  Object.keys(data)
    .filter((k) => k.endsWith('Ref') && data[k] !== null && data[k] !== undefined)
    .sort();

describe('CloudEvent refs', () => {
  it('carry the patient ref only on session.created, participant refs only of practitioners, and no display names or cancel reason', async () => {
    const doctor = practitioner(tenant);
    const thePatient = patient(tenant, PATIENT.slice('Patient/'.length));
    const ran = await scheduleSession(h, tenant, PATIENT);
    const steps: Array<[typeof doctor, string, unknown]> = [
      [thePatient, 'join', { displayName: NAMES[0] }],
      [doctor, 'join', { displayName: NAMES[1] }],
      [thePatient, 'leave', {}],
      [doctor, 'leave', {}],
      [doctor, 'end', {}],
    ];
    for (const [as, action, body] of steps) expect((await h.call('POST', `${API}/sessions/${ran}/${action}`, { as, body })).status, action).toBe(200);
    const cancelled = await scheduleSession(h, tenant, PATIENT);
    expect((await h.call('POST', `${API}/sessions/${cancelled}/cancel`, { as: doctor, body: { reason: CANCEL_REASON } })).status).toBe(200);

    const rows = await queryRows<{ subject: string; payload: { subject: string; data: Record<string, unknown> } }>(
      h.db.db,
      sql`select subject, payload from outbox where kind = 'event' and aggregate_id in (${ran}, ${cancelled}) order by created_at, subject`,
    );
    const seen = rows.map((r) => {
      const role = r.payload.data.role as string | undefined;
      return `${r.subject.replace('virtual_care.', '')}${role ? `(${role})` : ''}: ${refsOf(r.payload.data).join(',') || '-'}`;
    });
    expect([...new Set(seen)].sort()).toEqual([
      'billing.created: -',
      'participant.joined(patient): -',
      'participant.joined(practitioner): participantRef',
      'participant.left(patient): -',
      'participant.left(practitioner): participantRef',
      'session.cancelled: practitionerRef',
      'session.created: patientRef,practitionerRef',
      'session.ended: practitionerRef',
      'session.started: practitionerRef',
    ]);
    for (const row of rows) {
      const text = JSON.stringify(row.payload);
      // The CloudEvent's own subject is the session id, never a person.
      expect([ran, cancelled]).toContain(row.payload.subject);
      expect(text.includes(PATIENT), row.subject).toBe(row.subject === 'virtual_care.session.created');
      for (const name of NAMES) expect(text).not.toContain(name);
      expect(text).not.toContain('chest pain');
      expect(Object.keys(row.payload.data)).not.toContain('cancelReason');
    }
    // The reply still has it: only the events leave it out.
    const view = await h.call<{ cancelReason: string }>('GET', `${API}/sessions/${cancelled}`, { as: doctor });
    expect(view.body.cancelReason).toBe(CANCEL_REASON);
  });
});
