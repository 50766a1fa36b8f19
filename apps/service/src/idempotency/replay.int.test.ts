import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, practitioner, startHarness } from '../testing/harness';

/**
 * What an Idempotency-Key retry gets back on real PostgreSQL: the first reply's headers as well as its
 * status and body, and never a key stuck "in progress" because the first reply could not be stored.
 */
const API = '/api/v1/virtual-care';
const tenant = 'replay';
const caller = practitioner(tenant);
let h: Harness;

// Scheduling needs no tenant config; nothing here relays.
beforeAll(async () => (h = await startHarness({ fhir: false, start: { relay: false } })));
afterAll(() => h?.close());

const keyRows = (key: string) =>
  queryRows<{ response_status: number | null }>(h.db.db, sql`select response_status from idempotency_keys where tenant_id = ${tenant} and key = ${key}`);

describe('a replayed reply', () => {
  it('carries the Location of the 201 that created the session', async () => {
    const opts = { as: caller, body: { patientRef: 'Patient/pt-2', scheduledStart: '2026-03-01T10:00:00Z' }, headers: { 'idempotency-key': 'loc-1' } };
    const first = await h.call<{ id: string }>('POST', `${API}/sessions`, opts);
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${API}/sessions/${first.body.id}`);
    const replay = await h.call<{ id: string }>('POST', `${API}/sessions`, opts);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(first.headers.get('etag')).toBeNull();
    expect(replay.headers.get('etag')).toBeNull();
  });

  it('leaves out the ETag a reply stored while Express tagged every reply holds: no POST reply declares one', async () => {
    const opts = { as: caller, body: { patientRef: 'Patient/pt-3', scheduledStart: '2026-03-01T10:00:00Z' }, headers: { 'idempotency-key': 'etag-1' } };
    const first = await h.call<{ id: string }>('POST', `${API}/sessions`, opts);
    await h.db.db.execute(
      sql`update idempotency_keys set response_headers = response_headers || jsonb_build_object('etag', ${'W/"1-x"'}::text) where tenant_id = ${tenant} and key = 'etag-1'`,
    );
    const replay = await h.call<{ id: string }>('POST', `${API}/sessions`, opts);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('location')).toBe(first.headers.get('location'));
    expect(replay.headers.get('etag')).toBeNull();
  });
});

describe('a reply that cannot be stored', () => {
  it('a body keyed by a lone surrogate is a storable 400 that replays', async () => {
    const opts = { as: caller, body: '{"\\ud800":1}', headers: { 'idempotency-key': 'surrogate-1' } };
    const first = await h.call<{ errors: Array<{ field: string }> }>('POST', `${API}/sessions`, opts);
    expect(first.status).toBe(400);
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(first.body.errors.map((e) => e.field)).toContain('body');
    const second = await h.call('POST', `${API}/sessions`, opts);
    expect(second.status).toBe(400);
    expect(second.body).toEqual(first.body);
  });

  it('releases the key, so the retry runs again instead of a 409 "in progress"', async () => {
    // The database refuses this key's reply, whatever it holds: a stand-in for any reply jsonb will not take.
    await queryRows(
      h.db.db,
      sql.raw(`
        create function refuse_reply() returns trigger language plpgsql as $$
        begin raise exception 'reply refused by the test'; end $$;
        create trigger refuse_reply before update on idempotency_keys for each row
          when (new.key like 'refused-%' and new.response_status is not null) execute function refuse_reply();`),
    );
    try {
      const opts = { as: caller, body: { scheduledStart: 'not a date' }, headers: { 'idempotency-key': 'refused-1' } };
      const first = await h.call('POST', `${API}/sessions`, opts);
      expect(first.status).toBe(400);
      expect(await keyRows('refused-1')).toEqual([]);
      const second = await h.call('POST', `${API}/sessions`, opts);
      expect(second.status).toBe(400);
      expect(second.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await queryRows(h.db.db, sql.raw('drop trigger refuse_reply on idempotency_keys; drop function refuse_reply();'));
    }
  });
});
