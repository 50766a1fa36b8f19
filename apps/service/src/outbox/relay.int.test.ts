import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { configureTenant, eventually, type Harness, patient, practitioner, readStream, recordConsent, scheduleSession, startHarness } from '../testing/harness';

const API = '/api/v1/virtual-care';

async function runSession(h: Harness, tenant: string): Promise<string> {
  const id = await scheduleSession(h, tenant);
  await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner(tenant), body: {} });
  await h.call('POST', `${API}/sessions/${id}/join`, { as: patient(tenant), body: {} });
  await h.call('POST', `${API}/sessions/${id}/leave`, { as: patient(tenant), body: {} });
  const ended = await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner(tenant), body: {} });
  if (ended.status !== 200) throw new Error(`end failed with ${ended.status}`);
  return id;
}

describe('live mode: the relay delivers the outbox', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'live' });
    await configureTenant(h, 'acme');
    await recordConsent(h, 'acme', 'Patient/pt-1', 'active');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('publishes every CloudEvent once in structured mode (Content-Type) with Nats-Msg-Id = event id, creates the Encounter and stores encounter_ref', async () => {
    const id = await runSession(h, 'acme');
    await eventually(
      async () => (await queryRows<{ n: number }>(h.db.db, sql`select count(*)::int as n from outbox where published_at is null`))[0]!.n === 0,
      'the outbox to drain',
    );
    const rows = await queryRows<{ id: string; subject: string }>(h.db.db, sql`select id, subject from outbox where kind = 'event' and aggregate_id = ${id}`);
    const messages = (await readStream(h.stream.natsUrl, h.stream.name)).filter((m) => (m.event.subject as string) === id);
    expect(messages.map((m) => m.msgId).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(messages.map((m) => m.subject).sort()).toEqual(rows.map((r) => `${h.stream.prefix}${r.subject}`).sort());
    // The CloudEvents NATS binding: without this header a receiver reads the message as binary mode.
    expect(messages.map((m) => m.contentType)).toEqual(rows.map(() => 'application/cloudevents+json; charset=utf-8'));
    const ended = messages.find((m) => m.event.type === 'virtual_care.session.ended')!;
    expect(ended.event).toMatchObject({
      specversion: '1.0',
      id: ended.msgId,
      source: '/virtual-care-service',
      tenantid: 'acme',
      datacontenttype: 'application/json',
      data: { sessionId: id, status: 'ended' },
    });

    const session = await h.call('GET', `${API}/sessions/${id}`, { as: practitioner('acme') });
    expect(session.body.encounterRef).toMatch(/^Encounter\/[A-Za-z0-9-]+$/);
    const encounter = await createFhirClient({ baseUrl: h.fhir!.url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: id });
    expect(`Encounter/${encounter!.id}`).toBe(session.body.encounterRef);
    expect(encounter).toMatchObject({
      status: 'finished',
      class: { code: 'VR' },
      subject: { reference: 'Patient/pt-1' },
      period: { start: session.body.startedAt, end: session.body.endedAt },
    });
    expect(encounter!.participant?.map((p) => p.individual?.reference)).toEqual(['Practitioner/p-1']);
    const [billing] = await queryRows<{ status: string }>(h.db.db, sql`select status from billing_events where session_id = ${id}`);
    expect(billing!.status).toBe('published');
  });

  it("skips the Encounter of a session that ended before the tenant's FHIR era", async () => {
    await configureTenant(h, 'pre-fhir', { fhirEraStart: '2999-01-01T00:00:00Z' });
    await recordConsent(h, 'pre-fhir', 'Patient/pt-1', 'active');
    const id = await runSession(h, 'pre-fhir');
    const kinds = await queryRows<{ kind: string }>(h.db.db, sql`select distinct kind from outbox where aggregate_id = ${id}`);
    expect(kinds.map((k) => k.kind)).toEqual(['event']);
  });

  // The patient waited, the practitioner ended it without starting it (waiting → ended): no service, no bill.
  it('sends the Encounter of a session ended before it started as cancelled (FHIR R4: "ended before it has begun"), with its end only', async () => {
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
    expect(encounter?.status).toBe('cancelled');
    // It never began: no start, not even a zero-length one.
    expect(encounter?.period).toEqual({ end: new Date(ended.body.endedAt).toISOString() });
  });
});

describe('shadow mode: no outward effects', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ mode: 'shadow' });
    await configureTenant(h, 'acme');
    await recordConsent(h, 'acme', 'Patient/pt-1', 'active');
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs the whole lifecycle and records audit and billing, but writes no outbox row, publishes nothing and creates no Encounter', async () => {
    expect(h.service.relay).toBeUndefined();
    const id = await runSession(h, 'acme');
    const [outbox] = await queryRows<{ n: number }>(h.db.db, sql`select count(*)::int as n from outbox`);
    expect(outbox!.n).toBe(0);
    const billing = await queryRows<{ status: string; place_of_service: string }>(
      h.db.db,
      sql`select status, place_of_service from billing_events where session_id = ${id}`,
    );
    expect(billing).toEqual([{ status: 'pending', place_of_service: '02' }]);
    const audit = await queryRows<{ action: string }>(h.db.db, sql`select action from session_audit_events where session_id = ${id} order by occurred_at`);
    expect(audit.map((a) => a.action)).toEqual(['session.created', 'participant.joined', 'participant.joined', 'participant.left', 'session.ended']);
    expect(await h.fhir!.encounterCount()).toBe(0);
    expect(await readStream(h.stream.natsUrl, h.stream.name)).toEqual([]);
    const ready = await h.call('GET', '/readyz');
    expect(ready.body.mode).toBe('shadow');
  });
});
