import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { exited, KILLED, serviceChildren, type ServiceChildren } from '../testing/service-child';

/**
 * Leave and cancel with an `Idempotency-Key` across a crash between commit and reply (create, join and
 * end: idempotency-crash.int.test.ts). Both would act again on a plain retry: a second leave stamps the
 * leave again (audit row, event), a second cancel is a 409. The retry must replay the stored reply.
 */
const CLAIM_TIMEOUT_MS = 300;
const tenant = 'crash-leave';
let services: ServiceChildren;

beforeAll(async () => {
  services = await serviceChildren({ VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS: String(CLAIM_TIMEOUT_MS) });
});
afterAll(async () => {
  await services?.close();
});

describe('leave and cancel with an Idempotency-Key across a crash between commit and reply', () => {
  it('each act once: the retry after the claim timeout replays the stored reply, with no second audit row or event', async () => {
    const { call, count } = services;
    const doctor = await services.token(tenant, 'Practitioner/p-3', ['vc:practitioner']);
    // One service that stays up, and one per crash (each dies on its first keyed transition).
    const [steady, crashLeave, crashCancel] = await Promise.all([
      services.start(),
      services.start({ VC_TEST_CRASH_BEFORE_REPLY: '1' }),
      services.start({ VC_TEST_CRASH_BEFORE_REPLY: '1' }),
    ]);
    const admin = await services.token(tenant, 'Practitioner/admin', ['vc:admin']);
    expect(
      (
        await call(steady.url, 'PUT', '/config', admin, {
          jitsiServerUrl: 'https://meet.example.org',
          jitsiAppId: 'leave-app',
          jitsiAppSecret: 'leave-secret-0123456789abcdef',
        })
      ).status,
    ).toBe(201);
    const schedule = async () =>
      (
        (await (await call(steady.url, 'POST', '/sessions', doctor, { patientRef: 'Patient/pt-3', scheduledStart: '2026-03-01T10:00:00Z' })).json()) as {
          id: string;
        }
      ).id;
    const [joined, scheduled] = [await schedule(), await schedule()];
    expect((await call(steady.url, 'POST', `/sessions/${joined}/join`, doctor, {})).status).toBe(200);

    const replayed = async (path: string, body: unknown, key: string, crashed: typeof crashLeave) => {
      await expect(call(crashed.url, 'POST', path, doctor, body, key)).rejects.toThrow();
      expect(KILLED).toContain(await exited(crashed.child));
      await new Promise((r) => setTimeout(r, CLAIM_TIMEOUT_MS * 2));
      const replay = await call(steady.url, 'POST', path, doctor, body, key);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      return (await replay.json()) as { id: string; status: string };
    };
    const effects = (id: string, action: string, subject: string) =>
      Promise.all([
        count(sql`select count(*)::int as n from session_audit_events where session_id = ${id} and action = ${action}`),
        count(sql`select count(*)::int as n from outbox where aggregate_id = ${id} and subject = ${subject}`),
      ]);

    expect(await replayed(`/sessions/${joined}/leave`, {}, 'leave-key-1', crashLeave)).toMatchObject({ id: joined, status: 'in_progress' });
    expect(await effects(joined, 'participant.left', 'virtual_care.participant.left')).toEqual([1, 1]);

    expect(await replayed(`/sessions/${scheduled}/cancel`, { reason: 'patient asked' }, 'cancel-key-1', crashCancel)).toMatchObject({
      id: scheduled,
      status: 'cancelled',
    });
    expect(await effects(scheduled, 'session.cancelled', 'virtual_care.session.cancelled')).toEqual([1, 1]);

    steady.child.kill('SIGTERM');
    expect(await exited(steady.child)).toBe(0);
    // Three service processes start (tsx compiles each): slow on a loaded CI machine, not a timed assertion.
  }, 240_000);
});
