import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { admin, configureTenant, type Harness, practitioner, scheduleSession, startHarness } from '../testing/harness';

/**
 * Database errors with PHI and a secret in their bound parameters: the problem handler logs a safe error
 * (class, pg code, constraint, table), so none of the values reaches the log.
 */
const API = '/api/v1/virtual-care';
const PATIENT = 'Patient/phi-canary-7781';
const DISPLAY_NAME = 'Canary Displayname Zyx';
const SECRET = 'canary-secret-9f8e7d6c5b4a3210';
const lines: string[] = [];
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ fhir: false, start: { relay: false }, logLines: lines });
  await configureTenant(h, 'phi');
  // Constraints that only these values violate: the failing statements carry them as parameters.
  await h.db.db.execute(sql.raw(`alter table virtual_sessions add constraint canary_patient check (patient_ref <> '${PATIENT}')`));
  await h.db.db.execute(sql.raw(`alter table session_participants add constraint canary_name check (display_name <> '${DISPLAY_NAME}')`));
  await h.db.db.execute(sql.raw(`alter table tenant_virtual_care_configs add constraint canary_app check (jitsi_app_id <> 'canary-app')`));
});
afterAll(async () => {
  await h?.close();
});

describe('logs of database errors', () => {
  it('carry the pg code, constraint and table, never the patient ref, display name or secret', async () => {
    const created = await h.call('POST', `${API}/sessions`, { as: practitioner('phi'), body: { patientRef: PATIENT, scheduledStart: '2026-03-01T10:00:00Z' } });
    const id = await scheduleSession(h, 'phi');
    const joined = await h.call('POST', `${API}/sessions/${id}/join`, { as: practitioner('phi'), body: { displayName: DISPLAY_NAME } });
    const put = await h.call('PUT', `${API}/config`, {
      as: admin('phi'),
      body: { jitsiServerUrl: h.jitsi.url, jitsiAppId: 'canary-app', jitsiAppSecret: SECRET },
    });
    expect([created.status, joined.status, put.status]).toEqual([500, 500, 500]);
    expect(JSON.stringify([created.body, joined.body, put.body])).not.toMatch(/canary/i);

    const failures = lines
      .map(
        (l) =>
          JSON.parse(l) as {
            msg: string;
            req?: { id?: string };
            err?: { code?: string; constraint?: string; cause?: { code?: string; constraint?: string; table?: string } };
          },
      )
      .filter((l) => l.msg === 'request failed');
    expect(failures).toHaveLength(3);
    // Each line leads from the problem a client reports: its instance names the request's id.
    expect(failures.map((f) => `urn:uuid:${f.req?.id}`)).toEqual([created, joined, put].map((r) => r.body.instance));
    const pg = failures.map((f) => f.err?.cause ?? f.err);
    expect(pg.map((e) => e?.constraint).sort()).toEqual(['canary_app', 'canary_name', 'canary_patient']);
    expect(pg.every((e) => e?.code === '23514')).toBe(true);
    const log = lines.join('\n');
    for (const value of [PATIENT, 'phi-canary', DISPLAY_NAME, SECRET, 'insert into', 'params']) expect(log).not.toContain(value);
  });
});
