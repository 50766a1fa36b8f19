import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { type NatsServerProcess, startNatsServer } from '@vc/integrations/nats';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { createLogger } from '../logger';
import { configureTenant, eventually, type Harness, practitioner, readStream, scheduleSession, startHarness } from '../testing/harness';
import { OutboxRelay } from './relay';

const API = '/api/v1/virtual-care';
const SESSIONS = 6;

let nats: NatsServerProcess;
let h: Harness;

beforeAll(async () => {
  // A nats-server of this file's own: the test stops and restarts it, which the shared one must never see.
  nats = await startNatsServer();
  h = await startHarness({ natsUrl: nats.url, start: { relay: false } });
  await configureTenant(h, 'acme');
});
afterAll(async () => {
  await h?.close();
  await nats?.dispose();
});

const pending = async () =>
  (
    await queryRows<{ n: number; untried: number }>(
      h.db.db,
      sql`select count(*)::int as n, count(*) filter (where attempts = 0)::int as untried from outbox where published_at is null`,
    )
  )[0]!;

function replica(): OutboxRelay {
  return new OutboxRelay({
    db: h.db.db,
    eventStream: h.eventStream,
    fhir: createFhirClient({ baseUrl: h.fhir!.url, timeoutMs: 1_000 }),
    logger: createLogger('silent'),
    subjectPrefix: h.stream.prefix,
    intervalMs: 20,
    backoff: { baseMs: 20, maxMs: 150 },
  });
}

describe('NATS and FHIR down while sessions end', () => {
  it('retries with backoff, loses nothing, and delivers every event and every Encounter exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < SESSIONS; i += 1) {
      const id = await scheduleSession(h, 'acme');
      await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('acme'), body: {} });
      ids.push(id);
    }

    await nats.stop();
    h.fhir!.setDown(true);
    const ended = await Promise.all(ids.map((id) => h.call('POST', `${API}/sessions/${id}/end`, { as: practitioner('acme'), body: {} })));
    expect(ended.map((r) => r.status)).toEqual(ids.map(() => 200));
    const notReady = await h.call('GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks).toEqual({ database: 'ok', nats: 'down' });

    // Two replicas, as in production: SKIP LOCKED keeps them off each other's rows.
    const replicas = [replica(), replica()];
    replicas.forEach((r) => r.start());
    await eventually(async () => (await pending()).untried === 0, 'every row to fail at least once');
    const [failures] = await queryRows<{ min: number; errors: number }>(
      h.db.db,
      sql`select min(attempts)::int as min, count(last_error)::int as errors from outbox where published_at is null`,
    );
    expect(failures!.min).toBeGreaterThanOrEqual(1);
    expect(failures!.errors).toBe((await pending()).n);

    await nats.start();
    h.fhir!.setDown(false);
    await eventually(async () => (await pending()).n === 0, 'the outbox to drain after the outage', 30_000);

    // A relay that crashed after publishing but before marking the row: the rows come round again.
    await queryRows(
      h.db.db,
      sql`update outbox set published_at = null, next_attempt_at = now() where id in (select id from outbox order by created_at limit 8)`,
    );
    await queryRows(h.db.db, sql`update outbox set published_at = null, next_attempt_at = now() where kind = 'fhir_encounter'`);
    await eventually(async () => (await pending()).n === 0, 'the re-sent rows to drain');
    await Promise.all(replicas.map((r) => r.stop()));

    const events = await queryRows<{ id: string }>(h.db.db, sql`select id from outbox where kind = 'event'`);
    const messages = await readStream(nats.url, h.stream.name);
    expect(messages.map((m) => m.msgId).sort()).toEqual(events.map((e) => e.id).sort());
    expect(new Set(messages.map((m) => m.msgId)).size).toBe(messages.length);
    expect(messages.filter((m) => m.event.type === 'virtual_care.session.ended')).toHaveLength(SESSIONS);
    expect(messages.filter((m) => m.event.type === 'virtual_care.billing.created')).toHaveLength(SESSIONS);

    expect(await h.fhir!.encounterCount()).toBe(SESSIONS);
    const fhir = createFhirClient({ baseUrl: h.fhir!.url });
    const refs = await queryRows<{ id: string; encounter_ref: string | null }>(h.db.db, sql`select id, encounter_ref from virtual_sessions order by id`);
    for (const row of refs) {
      const encounter = await fhir.findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: row.id });
      expect(row.encounter_ref).toBe(`Encounter/${encounter!.id}`);
    }
    const [billing] = await queryRows<{ published: number }>(
      h.db.db,
      sql`select count(*) filter (where status = 'published')::int as published from billing_events`,
    );
    expect(billing!.published).toBe(SESSIONS);
  });
});
