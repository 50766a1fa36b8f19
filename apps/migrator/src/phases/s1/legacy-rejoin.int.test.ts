import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { createFhirClient, SESSION_IDENTIFIER_SYSTEM } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { FOLD_KINDS, foldSources, participantsFingerprint, phaseRun } from '../s4/testing/fold-sources';
import { startLegacyHarness, type LegacyHarness } from '../s4/testing/legacy-harness';
import { exportCsv } from '../s4/testing/legacy-mutations';
import { eventValues, insertRows, sessionValues, type LegacyRowValues } from '../s4/testing/legacy-rows';

/**
 * A legacy participant who left and came back: every fold of legacy participant history (S1 1.4 from MariaDB,
 * with the participant pushdown, and from a CSV export; S4's delta sync refold) records their latest join in
 * `last_joined_at`, validate's participants fingerprint compares it, and the Encounter S2 2.4 makes ends a
 * participant who rejoined after their last leave at the session's end (one who left again at that leave).
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';
// Two events a batch: each participant's joins and leaves span batches, so the batches' merge decides.
const BATCH = ['--batch-size', '2'];

let harness: LegacyHarness;

beforeAll(async () => {
  harness = await startLegacyHarness('rejoin', { sessions: 3, seed: 17, asOf: AS_OF });
}, 180_000);

afterAll(() => harness?.close());

const insert = (table: 'VirtualSession' | 'AuditLog', rows: LegacyRowValues[]) => insertRows(harness.mariadb, table, rows);
const at = (hhmm: string) => `2026-10-01 ${hhmm}:00`;
const joined = (tenant: string, id: string, actorRef: string, hhmm: string) => eventValues(tenant, id, { actorRef, occurredAt: at(hhmm) });
const left = (tenant: string, id: string, actorRef: string, hhmm: string) =>
  eventValues(tenant, id, { actorRef, action: 'participant.left', occurredAt: at(hhmm) });

/**
 * A session (10:00–10:25) whose practitioner joined, left and rejoined for good (their rejoin stored before
 * their leave), and whose caregiver joined, left, rejoined and left again.
 */
async function rejoinSession(tenant: string): Promise<string> {
  const [id] = await insert('VirtualSession', [sessionValues(tenant)]);
  await insert('AuditLog', [
    joined(tenant, id!, 'Practitioner/d-1', '10:01'),
    joined(tenant, id!, 'RelatedPerson/c-1', '10:02'),
    left(tenant, id!, 'RelatedPerson/c-1', '10:05'),
    joined(tenant, id!, 'Practitioner/d-1', '10:12'),
    joined(tenant, id!, 'RelatedPerson/c-1', '10:06'),
    left(tenant, id!, 'Practitioner/d-1', '10:10'),
    left(tenant, id!, 'RelatedPerson/c-1', '10:20'),
  ]);
  return id!;
}

const utc = (hhmm: string) => new Date(`2026-10-01T${hhmm}:00Z`);
const EXPECTED = [
  { participant_ref: 'Practitioner/d-1', join_count: 2, first_joined_at: utc('10:01'), last_left_at: utc('10:10'), last_joined_at: utc('10:12') },
  { participant_ref: 'RelatedPerson/c-1', join_count: 2, first_joined_at: utc('10:02'), last_left_at: utc('10:20'), last_joined_at: utc('10:06') },
];

async function participantsOf(tenant: string, legacyId: string) {
  const { rows } = await harness.client.query(
    `select p.participant_ref, p.join_count, p.first_joined_at, p.last_left_at, p.last_joined_at
       from session_participants p join virtual_sessions s on s.id = p.session_id
      where s.tenant_id = $1 and s.legacy_id = $2 order by p.participant_ref`,
    [tenant, legacyId],
  );
  return rows;
}

const phase = (tenant: string, source: Record<string, string>, ...args: string[]) => phaseRun(harness, tenant, source, ...args);

describe('a legacy participant who rejoined: the latest join from every fold', () => {
  const KINDS = FOLD_KINDS;
  const ids = new Map<string, string>();
  let dir: string;
  const sources = foldSources(
    () => harness,
    () => dir,
  );

  beforeAll(async () => {
    for (const kind of KINDS) ids.set(kind, await rejoinSession(`rejoin-${kind}`));
    // A second session S4 finds with its latest joins NULL, as a release before the folds kept them loaded it.
    ids.set('older', await rejoinSession('rejoin-mysql'));
    dir = await mkdtemp(join(harness.work, 'csv-'));
    await exportCsv(harness.legacy.url, dir);
  }, 60_000);

  const sourceEnv = sources.env;
  const legacySource = sources.source;

  it.each(KINDS)(
    '%s: S1 1.4 writes each participant latest join, and validate passes on it and fails without it',
    async (kind) => {
      const tenant = `rejoin-${kind}`;
      const run = await phase(tenant, sourceEnv(kind), 'phase', 's1', '--as-of', AS_OF, ...BATCH);
      expect(run.code, run.error).toBe(0);
      expect(await participantsOf(tenant, ids.get(kind)!)).toEqual(EXPECTED);
      const source = legacySource(kind);
      try {
        const healthy = kind === 'csv' ? { byId: 'pass' } : { byId: 'pass', streamedAgrees: true };
        expect(await participantsFingerprint(harness, tenant, source)).toEqual(healthy);
        // As a row loaded before the folds kept the latest join: validate names the difference.
        await harness.client.query(`update session_participants set last_joined_at = null where tenant_id = $1 and participant_ref = 'Practitioner/d-1'`, [
          tenant,
        ]);
        const missing = kind === 'csv' ? { byId: 'fail' } : { byId: 'fail', streamedAgrees: false };
        expect(await participantsFingerprint(harness, tenant, source)).toEqual(missing);
        await harness.client.query(`update session_participants set last_joined_at = $2 where tenant_id = $1 and participant_ref = 'Practitioner/d-1'`, [
          tenant,
          utc('10:12'),
        ]);
      } finally {
        await source.close();
      }
    },
    120_000,
  );

  it("S4's delta sync refolds a later legacy rejoin, fills a latest join left NULL, and never moves the service's back", async () => {
    const tenant = 'rejoin-mysql';
    const id = ids.get('mysql')!;
    const older = ids.get('older')!;
    // Legacy lived on: the caregiver came back after their last leave.
    await insert('AuditLog', [joined(tenant, id, 'RelatedPerson/c-1', '10:22')]);
    // The older session's latest joins NULL, and a later join the service recorded for the practitioner.
    await harness.client.query(
      `update session_participants p set last_joined_at = null from virtual_sessions s where s.id = p.session_id and s.tenant_id = $1 and s.legacy_id = $2`,
      [tenant, older],
    );
    const live = new Date('2026-11-15T09:00:00Z');
    await harness.client.query(
      `update session_participants p set last_joined_at = $3 from virtual_sessions s
        where s.id = p.session_id and s.tenant_id = $1 and s.legacy_id = $2 and p.participant_ref = 'Practitioner/d-1'`,
      [tenant, id, live],
    );

    const s4 = await phase(tenant, sourceEnv('mysql'), 'phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);
    expect(s4.code, s4.error).toBe(0);
    expect(await participantsOf(tenant, id)).toEqual([
      { ...EXPECTED[0], last_joined_at: live },
      { ...EXPECTED[1], join_count: 3, last_joined_at: utc('10:22') },
    ]);
    expect(await participantsOf(tenant, older)).toEqual(EXPECTED);
  }, 180_000);
});

describe("S2 2.4's Encounter of a migrated session with a rejoin", () => {
  let jitsi: JitsiStandIn;
  let tenant: string;
  let legacyId: string;

  beforeAll(async () => {
    jitsi = await startJitsiStandIn();
    const [[config]] = await harness.mariadb.query<RowDataPacket[]>('select tenantId from TenantVirtualCareConfig limit 1');
    tenant = String(config!.tenantId);
    legacyId = await rejoinSession(tenant);
  });

  afterAll(() => jitsi?.close());

  it('ends the participant who rejoined for good at the session end, and the one who left again at their last leave', async () => {
    const source = { VC_LEGACY_DATABASE_URL: harness.legacy.url, VC_MODE: 'shadow' };
    const s1 = await phase(tenant, source, 'phase', 's1', '--as-of', AS_OF);
    expect(s1.code, s1.error).toBe(0);
    await harness.client.query('update tenant_virtual_care_configs set jitsi_server_url = $1 where tenant_id = $2', [jitsi.url, tenant]);
    const reports = join(harness.work, 'reports');
    const s2 = await phase(tenant, source, 'phase', 's2', '--as-of', AS_OF, '--window', '14d', '--report-dir', reports, '--min-parallel-pairs', '0');
    expect(s2.code, s2.error).toBe(0);
    const { rows } = await harness.client.query<{ id: string }>('select id from virtual_sessions where tenant_id = $1 and legacy_id = $2', [tenant, legacyId]);
    const encounter = await createFhirClient({ baseUrl: harness.fhir.url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: rows[0]!.id });
    const periods = Object.fromEntries(
      ((encounter as { participant?: Array<{ individual: { reference: string }; period?: unknown }> }).participant ?? []).map((p) => [
        p.individual.reference,
        p.period,
      ]),
    );
    expect(periods).toEqual({
      // The practitioner of record rejoined at 10:12 after leaving at 10:10: in the room when the session ended.
      'Practitioner/d-1': { start: '2026-10-01T10:01:00.000Z', end: '2026-10-01T10:25:00.000Z' },
      // The caregiver rejoined at 10:06 and left again at 10:20, for good.
      'RelatedPerson/c-1': { start: '2026-10-01T10:02:00.000Z', end: '2026-10-01T10:20:00.000Z' },
    });
  }, 180_000);
});
