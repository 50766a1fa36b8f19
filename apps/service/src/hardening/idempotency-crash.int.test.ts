import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { exited, KILLED, serviceChildren, type ServiceChildren } from '../testing/service-child';

/**
 * `Idempotency-Key` exactly once across a crash: the service (a real child process) dies between the
 * commit of a create, a join or an end and its reply; after the claim timeout a service gets the same key
 * and replays the stored reply instead of acting a second time. Leave and cancel: idempotency-crash-leave.int.test.ts.
 */
const CLAIM_TIMEOUT_MS = 300;
let services: ServiceChildren;

beforeAll(async () => {
  services = await serviceChildren({ VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS: String(CLAIM_TIMEOUT_MS) });
});
afterAll(async () => {
  await services?.close();
});

describe('an Idempotency-Key create across a crash between commit and reply', () => {
  it('creates exactly one session and replays its reply after the claim timeout', async () => {
    const token = await services.token('crash', 'Practitioner/p-1', ['vc:practitioner']);
    const request = (url: string) =>
      services.call(url, 'POST', '/sessions', token, { patientRef: 'Patient/pt-1', scheduledStart: '2026-03-01T10:00:00Z' }, 'crash-key-1');

    const first = await services.start({ VC_TEST_CRASH_BEFORE_REPLY: '1' });
    await expect(request(first.url)).rejects.toThrow();
    expect(KILLED).toContain(await exited(first.child));
    expect(await queryRows(services.db.db, sql`select id from virtual_sessions where tenant_id = 'crash'`)).toHaveLength(1);

    const second = await services.start();
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const replay = await request(second.url);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const sessions = await queryRows<{ id: string }>(services.db.db, sql`select id from virtual_sessions where tenant_id = 'crash'`);
    expect(sessions).toHaveLength(1);
    expect(((await replay.json()) as { id: string }).id).toBe(sessions[0]!.id);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    // Two service processes start (tsx compiles each): slow on a loaded CI machine, not a timed assertion.
  }, 240_000);

  it('joins and ends exactly once: each replays its stored reply after the claim timeout, with no second participant join, audit row or event', async () => {
    const tenant = 'crash-transitions';
    const doctor = await services.token(tenant, 'Practitioner/p-2', ['vc:practitioner']);
    const { call, count } = services;
    // One service that stays up, and one per crash (each dies on its first keyed transition).
    const [steady, crashJoin, crashEnd] = await Promise.all([
      services.start(),
      services.start({ VC_TEST_CRASH_BEFORE_REPLY: '1' }),
      services.start({ VC_TEST_CRASH_BEFORE_REPLY: '1' }),
    ]);
    const configured = await call(steady.url, 'PUT', '/config', await services.token(tenant, 'Practitioner/admin', ['vc:admin']), {
      jitsiServerUrl: 'https://meet.example.org',
      jitsiAppId: 'crash-app',
      jitsiAppSecret: 'crash-secret-0123456789abcdef',
    });
    expect(configured.status).toBe(201);
    const created = await call(steady.url, 'POST', '/sessions', doctor, { patientRef: 'Patient/pt-2', scheduledStart: '2026-03-01T10:00:00Z' });
    const { id } = (await created.json()) as { id: string };

    await expect(call(crashJoin.url, 'POST', `/sessions/${id}/join`, doctor, { displayName: 'Dr Crash' }, 'join-key-1')).rejects.toThrow();
    expect(KILLED).toContain(await exited(crashJoin.child));
    const joinCount = sql`select join_count as n from session_participants where session_id = ${id} and participant_ref = 'Practitioner/p-2'`;
    const joinedEvents = sql`select count(*)::int as n from outbox where aggregate_id = ${id} and subject = 'virtual_care.participant.joined'`;
    expect(await count(joinCount)).toBe(1);
    expect(await count(joinedEvents)).toBe(1);
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const joinReplay = await call(steady.url, 'POST', `/sessions/${id}/join`, doctor, { displayName: 'Dr Crash' }, 'join-key-1');
    expect(joinReplay.status).toBe(200);
    expect(joinReplay.headers.get('idempotent-replayed')).toBe('true');
    expect(((await joinReplay.json()) as { jwt: string }).jwt).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(await count(joinCount)).toBe(1);
    expect(await count(joinedEvents)).toBe(1);

    await expect(call(crashEnd.url, 'POST', `/sessions/${id}/end`, doctor, {}, 'end-key-1')).rejects.toThrow();
    expect(KILLED).toContain(await exited(crashEnd.child));
    const endedAudits = sql`select count(*)::int as n from session_audit_events where session_id = ${id} and action = 'session.ended'`;
    const endedEvents = sql`select count(*)::int as n from outbox where aggregate_id = ${id} and subject = 'virtual_care.session.ended'`;
    expect(await count(endedAudits)).toBe(1);
    await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
    const endReplay = await call(steady.url, 'POST', `/sessions/${id}/end`, doctor, {}, 'end-key-1');
    expect(endReplay.status).toBe(200);
    expect(endReplay.headers.get('idempotent-replayed')).toBe('true');
    expect((await endReplay.json()) as { id: string; status: string }).toMatchObject({ id, status: 'ended' });
    expect(await count(endedAudits)).toBe(1);
    expect(await count(endedEvents)).toBe(1);
    steady.child.kill('SIGTERM');
    expect(await exited(steady.child)).toBe(0);
  }, 240_000);
});
