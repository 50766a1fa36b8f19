import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { requestHash } from '../idempotency/middleware';
import { findSession, participantByPseudonym } from './repo';
import { sessionView } from './view';
import { admin, configureTenant, type Harness, patient, practitioner, recordConsent, scheduleSession, startHarness } from '../testing/harness';

const API = '/api/v1/virtual-care';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, 'acme');
  await configureTenant(h, 'globex');
  await recordConsent(h, 'acme', 'Patient/pt-1', 'active');
  await recordConsent(h, 'acme', 'Patient/revoked', 'revoked');
  await recordConsent(h, 'acme', 'Patient/expired', 'expired');
});
afterAll(async () => {
  await h?.close();
});

describe('POST /sessions', () => {
  it('schedules a session for the calling practitioner and answers 201 with it', async () => {
    const reply = await h.call('POST', `${API}/sessions`, {
      as: practitioner('acme'),
      body: { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z', scheduledEnd: '2026-03-01T10:30:00Z' },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      tenantId: 'acme',
      patientRef: 'Patient/pt-1',
      practitionerRef: 'Practitioner/p-1',
      status: 'scheduled',
      scheduledStart: '2026-03-01T10:00:00.000Z',
      scheduledEnd: '2026-03-01T10:30:00.000Z',
      startedAt: null,
      videoBackend: 'jitsi',
      version: 1,
    });
    expect(reply.body.roomName).toBe(`vc-${String(reply.body.id).replaceAll('-', '')}`);
    expect(reply.headers.get('location')).toBe(`${API}/sessions/${String(reply.body.id)}`);
  });

  it.each([
    [{ scheduledStart: '2026-03-01T10:00:00Z' }, 'body.patientRef'],
    [{ patientRef: 'Practitioner/1', scheduledStart: '2026-03-01T10:00:00Z' }, 'body.patientRef'],
    [{ patientRef: 'Patient/1', scheduledStart: 'tomorrow' }, 'body.scheduledStart'],
    [{ patientRef: 'Patient/1', scheduledStart: '2026-03-01T10:00:00Z', scheduledEnd: '2026-03-01T09:00:00Z' }, 'body.scheduledEnd'],
    [{ patientRef: 'Patient/1', scheduledStart: '2026-03-01T10:00:00Z', surprise: true }, 'body'],
  ])('answers 400 naming the field for %o', async (body, field) => {
    const reply = await h.call<{ type: string; status: number; errors: Array<{ field: string }> }>('POST', `${API}/sessions`, {
      as: practitioner('acme'),
      body,
    });
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(reply.body.type).toBe('https://virtual-care.dev/problems/validation-failed');
    expect(reply.body.errors.map((e) => e.field)).toContain(field);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const reply = await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body: '{not json' });
    expect(reply.status).toBe(400);
    expect(reply.body.errors).toEqual([{ field: 'body', message: 'expected a JSON object' }]);
  });

  it('answers 415 for a body that is not application/json', async () => {
    const reply = await h.call('POST', `${API}/sessions`, {
      as: practitioner('acme'),
      body: 'patientRef=Patient/1',
      headers: { 'content-type': 'text/plain' },
    });
    expect(reply.status).toBe(415);
    expect(reply.body.type).toBe('https://virtual-care.dev/problems/unsupported-media-type');
  });

  it('answers 413 for a body over the limit', async () => {
    const reply = await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body: { patientRef: 'Patient/1', pad: 'x'.repeat(40_000) } });
    expect(reply.status).toBe(413);
  });

  it.each([[patient('acme')], [admin('acme')]])('refuses %o with 403', async (caller) => {
    const reply = await h.call('POST', `${API}/sessions`, { as: caller, body: { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z' } });
    expect(reply.status).toBe(403);
    expect(reply.body.type).toBe('https://virtual-care.dev/problems/forbidden');
  });
});

describe('role rules', () => {
  it('refuses every route to the roles it is not for (403), and lets an admin read sessions and participants', async () => {
    const id = await scheduleSession(h, 'acme');
    const refused: Array<[string, string, ReturnType<typeof admin>, unknown?]> = [
      ['POST', '/sessions', admin('acme'), { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z' }],
      ['POST', `/sessions/${id}/join`, admin('acme'), {}],
      ['POST', `/sessions/${id}/leave`, admin('acme'), {}],
      ['POST', `/sessions/${id}/end`, admin('acme'), {}],
      ['POST', `/sessions/${id}/cancel`, admin('acme'), { reason: 'x' }],
      ['POST', `/sessions/${id}/end`, patient('acme'), {}],
      ['POST', `/sessions/${id}/cancel`, patient('acme'), { reason: 'x' }],
      ['GET', `/sessions/${id}`, { sub: 'Practitioner/none', tenant: 'acme', roles: ['vc:unknown'] }],
    ];
    for (const [method, path, caller, body] of refused) {
      expect((await h.call(method, `${API}${path}`, { as: caller, body })).status, `${method} ${path} as ${caller.roles.join()}`).toBe(403);
    }
    const list = await h.call<{ items: Array<{ id: string }> }>('GET', `${API}/sessions?limit=100`, { as: admin('acme') });
    expect(list.body.items.map((s) => s.id)).toContain(id);
    expect((await h.call('GET', `${API}/sessions/${id}/participants`, { as: admin('acme') })).status).toBe(200);
  });
});

describe('authentication', () => {
  it('answers 401 without a token, with a token signed by someone else, and with claims missing', async () => {
    expect((await h.call('GET', `${API}/sessions`)).status).toBe(401);
    const forged = await h.call('GET', `${API}/sessions`, {
      headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQYXRpZW50LzEifQ.c2lnbmF0dXJl' },
    });
    expect(forged.status).toBe(401);
    const noTenant = await h.call('GET', `${API}/sessions`, { as: { sub: 'Practitioner/1', tenant: 'NOT A TENANT', roles: ['vc:practitioner'] } });
    expect(noTenant.status).toBe(401);
    expect(noTenant.body.detail).toMatch(/tenant/);
  });
});

describe('GET /sessions/:id and tenant isolation', () => {
  let id: string;
  beforeAll(async () => {
    id = await scheduleSession(h, 'acme');
  });

  it("lets practitioners, admins and the session's own patient read it", async () => {
    for (const caller of [practitioner('acme'), admin('acme'), patient('acme')]) {
      const reply = await h.call('GET', `${API}/sessions/${id}`, { as: caller });
      expect(reply.status).toBe(200);
      expect(reply.body.id).toBe(id);
    }
  });

  it('answers the view of the full row, every column set (a migrated row with legacy data and a cancel reason)', async () => {
    // Characters JSON escapes (quote, backslash, controls) and those it leaves as they are.
    const reason = 'legacy "reason" \u00e9 \\ \t\n\u0001\u001f </script> \u2028 \ud83d\ude00';
    const [row] = await queryRows<{ id: string }>(
      h.db.db,
      sql`insert into virtual_sessions (tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at,
            status, cancel_reason, video_backend, room_name, encounter_ref, version, migrated_from, created_at, updated_at)
          values ('acme', '9002', 'Patient/pt-1', 'Practitioner/p-1', '2026-06-01T10:00:00.123Z', '2026-06-01T10:30:00Z', '2026-06-01T10:01:02.5+02:00',
            '2026-06-01T10:29:59.999Z', 'cancelled', ${reason}, 'jitsi', 'vc-room-9002', 'Encounter/e-9', 7, '{"status":"DONE","n":[1,2]}',
            '1999-12-31T23:59:59.001Z', '2026-06-02T00:00:00Z') returning id`,
    );
    const full = await findSession(h.db.db, 'acme', row!.id);
    const reply = await h.call('GET', `${API}/sessions/${row!.id}`, { as: practitioner('acme') });
    expect(reply.status).toBe(200);
    // The same text as JSON.stringify of the view: same values, same key order, same length (no whitespace, same escapes).
    const expected = JSON.stringify(sessionView(full!));
    expect(JSON.stringify(reply.body)).toBe(expected);
    expect(reply.headers.get('content-length')).toBe(String(Buffer.byteLength(expected)));
    expect(reply.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(reply.body).toMatchObject({ startedAt: '2026-06-01T08:01:02.500Z', createdAt: '1999-12-31T23:59:59.001Z', version: 7 });
    expect(reply.body).not.toHaveProperty('migratedFrom');
  });

  it('answers another tenant 404 with no data, for every session route', async () => {
    const other = practitioner('globex');
    const routes: Array<[string, string, unknown?]> = [
      ['GET', `/sessions/${id}`],
      ['GET', `/sessions/${id}/participants`],
      ['POST', `/sessions/${id}/join`, {}],
      ['POST', `/sessions/${id}/leave`, {}],
      ['POST', `/sessions/${id}/end`, {}],
      ['POST', `/sessions/${id}/cancel`, { reason: 'x' }],
    ];
    for (const [method, path, body] of routes) {
      const reply = await h.call(method, `${API}${path}`, { as: other, body });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(JSON.stringify(reply.body)).not.toContain('Patient/pt-1');
    }
    const list = await h.call<{ items: unknown[] }>('GET', `${API}/sessions`, { as: other });
    expect(list.body.items).toEqual([]);
  });

  it('answers a patient 404 for a session of another patient of the same tenant', async () => {
    const reply = await h.call('GET', `${API}/sessions/${id}`, { as: patient('acme', 'someone-else') });
    expect(reply.status).toBe(404);
  });

  it('answers 400 naming params.id for an id that is not a uuid', async () => {
    const reply = await h.call<{ errors: Array<{ field: string }> }>('GET', `${API}/sessions/nope`, { as: practitioner('acme') });
    expect(reply.status).toBe(400);
    expect(reply.body.errors[0]!.field).toBe('params.id');
  });
});

describe('GET /sessions filters and pagination', () => {
  const tenant = 'listing';
  const ids: string[] = [];
  beforeAll(async () => {
    for (const [i, pt] of ['Patient/a', 'Patient/b', 'Patient/a', 'Patient/c', 'Patient/a'].entries()) {
      const reply = await h.call<{ id: string }>('POST', `${API}/sessions`, {
        as: practitioner(tenant, i % 2 === 0 ? 'even' : 'odd'),
        body: { patientRef: pt, scheduledStart: `2026-04-0${i + 1}T09:00:00Z` },
      });
      ids.push(reply.body.id);
    }
    await h.call('POST', `${API}/sessions/${ids[1]}/cancel`, { as: practitioner(tenant, 'odd'), body: { reason: 'patient_request' } });
  });

  const list = async (query: string, caller = practitioner(tenant)) =>
    h.call<{ items: Array<{ id: string }>; nextCursor: string | null }>('GET', `${API}/sessions?${query}`, { as: caller });

  it('walks every session newest first, two per page, with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...reply.body.items.map((s) => s.id));
      cursor = reply.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, patient, practitioner and scheduled date range', async () => {
    expect((await list('status=cancelled')).body.items.map((s) => s.id)).toEqual([ids[1]]);
    expect((await list('patientRef=Patient/a')).body.items.map((s) => s.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list('practitionerRef=Practitioner/odd')).body.items.map((s) => s.id)).toEqual([ids[3], ids[1]]);
    expect((await list('from=2026-04-02T00:00:00Z&to=2026-04-04T00:00:00Z')).body.items.map((s) => s.id)).toEqual([ids[2], ids[1]]);
  });

  it('shows a patient only their own sessions, whatever they filter by', async () => {
    expect((await list('', patient(tenant, 'a'))).body.items.map((s) => s.id)).toEqual([ids[4], ids[2], ids[0]]);
    expect((await list('patientRef=Patient/b', patient(tenant, 'a'))).body.items).toEqual([]);
  });

  it.each([
    ['status=open', 'query.status'],
    ['limit=0', 'query.limit'],
    ['limit=101', 'query.limit'],
    ['from=yesterday', 'query.from'],
    ['cursor=bm90LWEtY3Vyc29y', 'query.cursor'],
    ['colour=blue', 'query'],
  ])('answers 400 naming the field for ?%s', async (query, field) => {
    const reply = await h.call<{ errors: Array<{ field: string }> }>('GET', `${API}/sessions?${query}`, { as: practitioner(tenant) });
    expect(reply.status).toBe(400);
    expect(reply.body.errors.map((e) => e.field)).toContain(field);
  });
});

describe('join, leave and participants', () => {
  it('gives the patient with an active consent a Jitsi URL and a short-lived token following the Jitsi spec', async () => {
    const id = await scheduleSession(h, 'acme');
    const reply = await h.call<{ joinUrl: string; jwt: string; roomName: string; expiresAt: string }>('POST', `${API}/sessions/${id}/join`, {
      as: patient('acme'),
      body: { displayName: 'Pat' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.roomName).toBe(`vc-${id.replaceAll('-', '')}`);
    expect(reply.body.joinUrl).toBe(`${h.jitsi.url}/${reply.body.roomName}?jwt=${reply.body.jwt}`);
    const claims = decodeJwt(reply.body.jwt);
    expect(claims).toMatchObject({
      iss: 'acme-app',
      aud: 'jitsi',
      sub: '127.0.0.1',
      room: reply.body.roomName,
      context: { user: { name: 'Pat', moderator: 'false' } },
    });
    // The user id is an opaque per-session pseudonym the service maps back; the patient ref never rides in ?jwt=.
    const pseudonym = (claims.context as { user: { id: string } }).user.id;
    expect(pseudonym).toMatch(/^p-[A-Za-z0-9_-]{22}$/);
    expect(reply.body.jwt + reply.body.joinUrl).not.toContain('pt-1');
    expect((await participantByPseudonym(h.db.db, 'acme', id, pseudonym))?.participantRef).toBe('Patient/pt-1');
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(new Date(reply.body.expiresAt).getTime()).toBe(claims.exp! * 1000);
    const session = await h.call('GET', `${API}/sessions/${id}`, { as: patient('acme') });
    expect(session.body.status).toBe('waiting');
  });

  it('names the Jitsi tenant in sub when the server URL has a tenant path, as the join URL keeps it', async () => {
    await configureTenant(h, 'jitsi-tenant', { jitsiServerUrl: `${h.jitsi.url}/Acme-Clinic/` });
    const id = await scheduleSession(h, 'jitsi-tenant');
    const reply = await h.call<{ joinUrl: string; jwt: string; roomName: string }>('POST', `${API}/sessions/${id}/join`, {
      as: practitioner('jitsi-tenant'),
      body: {},
    });
    expect(reply.status).toBe(200);
    expect(reply.body.joinUrl).toBe(`${h.jitsi.url}/Acme-Clinic/${reply.body.roomName}?jwt=${reply.body.jwt}`);
    expect(decodeJwt(reply.body.jwt)).toMatchObject({ sub: 'acme-clinic', room: reply.body.roomName });
  });

  it.each([
    ['Patient/revoked', 'revoked'],
    ['Patient/expired', 'expired'],
    ['Patient/nobody', 'no_consent'],
  ])('refuses %s with a 403 problem saying %s, and records nothing', async (patientRef, reason) => {
    const id = await scheduleSession(h, 'acme', patientRef);
    const reply = await h.call('POST', `${API}/sessions/${id}/join`, { as: { sub: patientRef, tenant: 'acme', roles: ['vc:patient'] }, body: {} });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({ type: 'https://virtual-care.dev/problems/consent-required', reason });
    const participants = await h.call<{ items: unknown[] }>('GET', `${API}/sessions/${id}/participants`, { as: practitioner('acme') });
    expect(participants.body.items).toEqual([]);
  });

  it('answers 503 when access-policy is down, rather than letting the patient in', async () => {
    const id = await scheduleSession(h, 'acme');
    h.accessPolicy.setDown(true);
    try {
      const reply = await h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} });
      expect(reply.status).toBe(503);
      expect(reply.body.type).toBe('https://virtual-care.dev/problems/dependency-unavailable');
    } finally {
      h.accessPolicy.setDown(false);
    }
  });

  it('answers a patient 404 for a session not theirs before any consent problem, with access-policy down or no consent', async () => {
    const id = await scheduleSession(h, 'acme');
    const stranger = { sub: 'Patient/nobody', tenant: 'acme', roles: ['vc:patient'] };
    expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: stranger, body: {} })).status).toBe(404);
    h.accessPolicy.setDown(true);
    try {
      expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} })).status).toBe(503);
      expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: stranger, body: {} })).status).toBe(404);
    } finally {
      h.accessPolicy.setDown(false);
    }
  });

  it('starts the session when the practitioner joins (moderator) and counts joins and leaves per participant', async () => {
    const id = await scheduleSession(h, 'acme');
    const pj = await h.call<{ jwt: string }>('POST', `${API}/sessions/${id}/join`, { as: practitioner('acme'), body: {} });
    expect(pj.status).toBe(200);
    expect(decodeJwt(pj.body.jwt).context).toEqual({ user: { id: expect.stringMatching(/^p-/), name: 'Clinician', moderator: 'true' } });
    await h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} });
    expect((await h.call('POST', `${API}/sessions/${id}/leave`, { as: patient('acme'), body: {} })).status).toBe(200);
    await h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} });
    const session = await h.call('GET', `${API}/sessions/${id}`, { as: practitioner('acme') });
    expect(session.body.status).toBe('in_progress');
    expect(session.body.startedAt).not.toBeNull();
    const participants = await h.call<{ items: Array<Record<string, unknown>> }>('GET', `${API}/sessions/${id}/participants`, { as: patient('acme') });
    expect(participants.status).toBe(200);
    expect(participants.body.items.map((p) => [p.participantRef, p.role, p.joinCount, p.lastLeftAt === null, p.source])).toEqual([
      ['Practitioner/p-1', 'practitioner', 1, true, 'live'],
      ['Patient/pt-1', 'patient', 2, false, 'live'],
    ]);
  });

  it('lets many simultaneous joins of one session all succeed (a patient reconnecting), counting every one', async () => {
    const id = await scheduleSession(h, 'acme');
    await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('acme'), body: {} });
    const joins = await Promise.all(Array.from({ length: 12 }, () => h.call('POST', `${API}/sessions/${id}/join`, { as: patient('acme'), body: {} })));
    expect(joins.map((j) => j.status)).toEqual(Array.from({ length: 12 }, () => 200));
    const participants = await h.call<{ items: Array<Record<string, unknown>> }>('GET', `${API}/sessions/${id}/participants`, { as: practitioner('acme') });
    expect(participants.body.items.map((p) => [p.participantRef, p.joinCount])).toEqual([
      ['Practitioner/p-1', 1],
      ['Patient/pt-1', 12],
    ]);
    const session = await h.call('GET', `${API}/sessions/${id}`, { as: practitioner('acme') });
    expect(session.body.version).toBe(2 + 12);
    // Only the join that moved the session to in_progress starts it; the 12 into a running session do not.
    const events = await queryRows<{ subject: string; n: number }>(
      h.db.db,
      sql`select subject, count(*)::int as n from outbox where aggregate_id = ${id} and kind = 'event' group by subject order by subject`,
    );
    expect(events.map((e) => [e.subject, e.n])).toEqual([
      ['virtual_care.participant.joined', 13],
      ['virtual_care.session.created', 1],
      ['virtual_care.session.started', 1],
    ]);
  });

  it('refuses a leave by someone who never joined (409) and a join by an admin (403)', async () => {
    const id = await scheduleSession(h, 'acme');
    await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('acme'), body: {} });
    const leave = await h.call('POST', `${API}/sessions/${id}/leave`, { as: patient('acme'), body: {} });
    expect(leave.status).toBe(409);
    expect((await h.call('POST', `${API}/sessions/${id}/join`, { as: admin('acme'), body: {} })).status).toBe(403);
  });

  it('joins a session carried over from legacy without a room name, using the room derived from its id', async () => {
    const [row] = await queryRows<{ id: string }>(
      h.db.db,
      sql`insert into virtual_sessions (tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, status) values ('acme', '9001', 'Patient/pt-1', 'Practitioner/p-1', '2026-06-01T10:00:00Z', 'scheduled') returning id`,
    );
    const reply = await h.call<{ roomName: string }>('POST', `${API}/sessions/${row!.id}/join`, { as: patient('acme'), body: {} });
    expect(reply.status).toBe(200);
    expect(reply.body.roomName).toBe(`vc-${row!.id.replaceAll('-', '')}`);
  });

  it('answers 409 tenant-not-configured when the tenant has no config', async () => {
    const id = await scheduleSession(h, 'unconfigured');
    const reply = await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('unconfigured'), body: {} });
    expect(reply.status).toBe(409);
    expect(reply.body.type).toBe('https://virtual-care.dev/problems/tenant-not-configured');
  });
});

describe('end and cancel', () => {
  it('ends an in-progress session once: audit, billing (POS and modifier of the tenant) and outbox rows in one go', async () => {
    await configureTenant(h, 'billing10', { billing: { placeOfService: '10', modifier: null } });
    const id = await scheduleSession(h, 'billing10');
    await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('billing10'), body: {} });
    const reply = await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('billing10'), body: {} });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ status: 'ended', version: 3 });
    const billing = await queryRows<Record<string, unknown>>(
      h.db.db,
      sql`select code, modifier, place_of_service, units, status from billing_events where session_id = ${id}`,
    );
    expect(billing).toEqual([{ code: '99213', modifier: null, place_of_service: '10', units: 1, status: 'pending' }]);
    const audit = await queryRows<{ action: string }>(
      h.db.db,
      sql`select action from session_audit_events where session_id = ${id} order by occurred_at, action`,
    );
    expect(audit.map((a) => a.action)).toEqual(['session.created', 'participant.joined', 'session.ended']);
    const outbox = await queryRows<{ kind: string; subject: string }>(
      h.db.db,
      sql`select kind, subject from outbox where aggregate_id = ${id} order by created_at, subject`,
    );
    expect(outbox.map((o) => `${o.kind}:${o.subject}`).sort()).toEqual([
      'event:virtual_care.billing.created',
      'event:virtual_care.participant.joined',
      'event:virtual_care.session.created',
      'event:virtual_care.session.ended',
      'event:virtual_care.session.started',
      'fhir_encounter:Encounter',
    ]);
    const again = await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('billing10'), body: {} });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      type: 'https://virtual-care.dev/problems/invalid-transition',
      status: 409,
      sessionStatus: 'ended',
      action: 'end',
      detail: 'an ended session cannot end',
    });
  });

  it('ends the Encounter part of a practitioner who left and rejoined at the session end, not at the leave', async () => {
    const id = await scheduleSession(h, 'acme');
    const as = practitioner('acme');
    const pause = () => new Promise((resolve) => setTimeout(resolve, 20));
    for (const step of ['join', 'leave', 'join', 'end'] as const) {
      await pause(); // distinct instants: a leave and a rejoin in the same millisecond could not be ordered
      expect((await h.call('POST', `${API}/sessions/${id}/${step}`, { as, body: {} })).status).toBe(200);
    }
    const [row] = await queryRows<{ payload: { encounter: { period: { end: string }; participant: Array<{ period?: { start?: string; end?: string } }> } } }>(
      h.db.db,
      sql`select payload from outbox where aggregate_id = ${id} and kind = 'fhir_encounter'`,
    );
    const [times] = await queryRows<{ first_joined_at: string; last_left_at: string; last_joined_at: string }>(
      h.db.db,
      sql`select first_joined_at, last_left_at, last_joined_at from session_participants where session_id = ${id}`,
    );
    const [firstJoined, lastLeft, lastJoined] = [times!.first_joined_at, times!.last_left_at, times!.last_joined_at].map((t) => new Date(t));
    // last_left_at stays the (only) leave; last_joined_at is the rejoin after it.
    expect(lastJoined!.getTime()).toBeGreaterThan(lastLeft!.getTime());
    const encounter = row!.payload.encounter;
    expect(encounter.participant[0]!.period).toEqual({ start: firstJoined!.toISOString(), end: encounter.period.end });
  });

  it('of two racing ends exactly one wins and the other gets 409, with one billing event', async () => {
    for (let round = 0; round < 5; round += 1) {
      const id = await scheduleSession(h, 'acme');
      await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('acme'), body: {} });
      const replies = await Promise.all([1, 2].map(() => h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('acme'), body: {} })));
      expect(replies.map((r) => r.status).sort()).toEqual([200, 409]);
      const [count] = await queryRows<{ n: number }>(h.db.db, sql`select count(*)::int as n from billing_events where session_id = ${id}`);
      expect(count!.n).toBe(1);
    }
  });

  it('cancels a scheduled session with its reason, refuses to cancel a started one, and lets only practitioners do it', async () => {
    const id = await scheduleSession(h, 'acme');
    expect((await h.call('POST', `${API}/sessions/${id}/cancel`, { as: patient('acme'), body: { reason: 'x' } })).status).toBe(403);
    const missing = await h.call<{ errors: Array<{ field: string }> }>('POST', `${API}/sessions/${id}/cancel`, { as: practitioner('acme'), body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]!.field).toBe('body.reason');
    const reply = await h.call('POST', `${API}/sessions/${id}/cancel`, { as: practitioner('acme'), body: { reason: 'patient_request' } });
    expect(reply.body).toMatchObject({ status: 'cancelled', cancelReason: 'patient_request' });
    const started = await scheduleSession(h, 'acme');
    await h.call('POST', `${API}/sessions/${started}/join`, { as: practitioner('acme'), body: {} });
    expect((await h.call('POST', `${API}/sessions/${started}/cancel`, { as: practitioner('acme'), body: { reason: 'x' } })).status).toBe(409);
  });

  it('refuses to end a session nobody joined (409) and refuses patients (403)', async () => {
    const id = await scheduleSession(h, 'acme');
    expect((await h.call('POST', `${API}/sessions/${id}/end`, { as: patient('acme'), body: {} })).status).toBe(403);
    expect((await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('acme'), body: {} })).status).toBe(409);
  });
});

describe('Idempotency-Key', () => {
  const body = { patientRef: 'Patient/pt-1', scheduledStart: '2026-05-01T10:00:00Z' };

  it('replays the stored reply for the same key and request, creating one session', async () => {
    const headers = { 'idempotency-key': 'create-1' };
    const first = await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body, headers });
    const second = await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const [count] = await queryRows<{ n: number }>(
      h.db.db,
      sql`select count(*)::int as n from virtual_sessions where tenant_id = 'acme' and scheduled_start = '2026-05-01T10:00:00Z'`,
    );
    expect(count!.n).toBe(1);
  });

  it('answers 422 for the same key with a different request', async () => {
    const headers = { 'idempotency-key': 'create-2' };
    await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body, headers });
    const reply = await h.call('POST', `${API}/sessions`, { as: practitioner('acme'), body: { ...body, scheduledStart: '2026-05-02T10:00:00Z' }, headers });
    expect(reply.status).toBe(422);
    expect(reply.body.type).toBe('https://virtual-care.dev/problems/idempotency-key-reused');
  });

  it('replays a refused end as the same 409 rather than running it again', async () => {
    const id = await scheduleSession(h, 'acme');
    const headers = { 'idempotency-key': `end-${id}` };
    const first = await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('acme'), body: {}, headers });
    const replay = await h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('acme'), body: {}, headers });
    expect(first.status).toBe(409);
    expect(replay.status).toBe(409);
    expect(replay.body).toEqual(first.body);
  });

  it('answers 409 while the first request with a key is still running, and lets a retry take over a claim abandoned by a dead process', async () => {
    const path = `${API}/sessions`;
    const claim = (key: string, age: string) =>
      queryRows(
        h.db.db,
        sql`insert into idempotency_keys (tenant_id, principal, key, request_hash, created_at) values ('acme', 'Practitioner/p-1', ${key}, ${requestHash('POST', path, body)}, now() - ${age}::interval)`,
      );
    await claim('running', '1 second');
    await claim('abandoned', '5 minutes');
    const running = await h.call('POST', path, { as: practitioner('acme'), body, headers: { 'idempotency-key': 'running' } });
    expect(running.status).toBe(409);
    expect(running.body.type).toBe('https://virtual-care.dev/problems/idempotency-in-progress');
    const takenOver = await h.call('POST', path, { as: practitioner('acme'), body, headers: { 'idempotency-key': 'abandoned' } });
    expect(takenOver.status).toBe(201);
  });

  it("keeps keys apart per caller: another practitioner's same key runs its own request", async () => {
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await h.call('POST', `${API}/sessions`, { as: practitioner('acme', 'a'), body, headers });
    const b = await h.call('POST', `${API}/sessions`, { as: practitioner('acme', 'b'), body, headers });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).not.toBe(a.body.id);
  });
});
