import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { configureTenant, type Harness, practitioner, startHarness } from '../testing/harness';
import { KEY_TTL_MS, purgeExpiredKeys } from './repo';

/**
 * Idempotency keys (and the replies they keep, with patient refs) live 24 h on real PostgreSQL: an older
 * key is a new key to a retry even before the purge ran, and the purge deletes exactly the older rows.
 */
const API = '/api/v1/virtual-care';
const tenant = 'ttl';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, tenant);
});
afterAll(async () => {
  await h?.close();
});

const create = (key: string, scheduledStart = '2026-06-01T10:00:00Z') =>
  h.call<{ id: string }>('POST', `${API}/sessions`, {
    as: practitioner(tenant),
    body: { patientRef: 'Patient/pt-ttl', scheduledStart },
    headers: { 'idempotency-key': key },
  });
/** Moves a key's creation back by `age` (a PostgreSQL interval), as if it had been stored that long ago. */
const backdate = (key: string, age: string) =>
  queryRows(h.db.db, sql`update idempotency_keys set created_at = now() - ${age}::interval where tenant_id = ${tenant} and key = ${key}`);
const keys = async () =>
  (await queryRows<{ key: string }>(h.db.db, sql`select key from idempotency_keys where tenant_id = ${tenant} order by key`)).map((r) => r.key);

describe('Idempotency-Key lifetime (24 h)', () => {
  it('is 24 hours', () => {
    expect(KEY_TTL_MS).toBe(24 * 60 * 60 * 1000);
  });

  it('treats a key stored more than 24 h ago as new: the retry runs again (even with another body), one kept just under 24 h still replays', async () => {
    const first = await create('expired-key');
    await backdate('expired-key', '24 hours 1 minute');
    const again = await create('expired-key');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.id).not.toBe(first.body.id);
    // Another request under the expired key is not a 422 either: the old one is forgotten.
    await backdate('expired-key', '25 hours');
    expect((await create('expired-key', '2026-06-02T10:00:00Z')).status).toBe(201);

    const kept = await create('young-key');
    await backdate('young-key', '23 hours 59 minutes');
    const replay = await create('young-key');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(kept.body.id);
  });

  it('purges keys older than 24 h with their replies and keeps the fresh ones', async () => {
    for (const key of ['stale-1', 'stale-2', 'fresh']) expect((await create(key)).status).toBe(201);
    await backdate('stale-1', '24 hours 1 minute');
    await backdate('stale-2', '30 days');
    await backdate('fresh', '23 hours');
    const before = await keys();
    expect(before).toEqual(expect.arrayContaining(['fresh', 'stale-1', 'stale-2']));

    expect(await purgeExpiredKeys(h.db.db, new Date())).toBe(2);
    expect(await keys()).toEqual(before.filter((k) => !k.startsWith('stale-')));
    expect(await purgeExpiredKeys(h.db.db, new Date())).toBe(0);
  });
});
