import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { configureTenant, type Harness, practitioner, scheduleSession, startHarness } from '../testing/harness';

/**
 * Joins read the tenant config from a cache; a change the cache did not see (another instance's PUT, the
 * migrator's 1.3 upsert, which does not bump the version) must still decide the next join.
 */
const API = '/api/v1/virtual-care';
const TENANT = 'cached';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false } });
  await configureTenant(h, TENANT);
});
afterAll(async () => {
  await h?.close();
});

const join = (id: string, who = 'p-1') =>
  h.call<{ jwt: string; type: string }>('POST', `${API}/sessions/${id}/join`, { as: practitioner(TENANT, who), body: {} });
const joinCount = async (id: string) =>
  (await queryRows<{ n: number }>(h.db.db, sql`select coalesce(sum(join_count), 0)::int as n from session_participants where session_id = ${id}`))[0]!.n;

describe('a join after the tenant config changed behind its cache', () => {
  it('signs with the config as the table holds it now, not as it was cached', async () => {
    const id = await scheduleSession(h, TENANT);
    expect(decodeJwt((await join(id)).body.jwt).iss).toBe(`${TENANT}-app`);
    // Written as the migrator's upsert does: no version bump, so only the join statement's guard can tell.
    await h.db.db.execute(sql`update tenant_virtual_care_configs set jitsi_app_id = 'moved-app' where tenant_id = ${TENANT}`);
    const again = await join(id, 'p-2');
    expect(again.status).toBe(200);
    expect(decodeJwt(again.body.jwt).iss).toBe('moved-app');
    expect(await joinCount(id)).toBe(2);
  });

  it('refuses once the tenant is disabled, and writes nothing', async () => {
    const id = await scheduleSession(h, TENANT);
    expect((await join(id)).status).toBe(200);
    await h.db.db.execute(sql`update tenant_virtual_care_configs set enabled = false where tenant_id = ${TENANT}`);
    const refused = await join(id, 'p-2');
    expect(refused.status).toBe(403);
    expect(refused.body.type).toBe('https://virtual-care.dev/problems/virtual-care-disabled');
    expect(await joinCount(id)).toBe(1);
    await h.db.db.execute(sql`update tenant_virtual_care_configs set enabled = true where tenant_id = ${TENANT}`);
  });
});
