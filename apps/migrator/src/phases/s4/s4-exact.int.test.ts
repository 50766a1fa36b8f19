import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, loadLegacyDatabases, type LegacyDatabases } from '../../validate/testing/harness';
import { runInProcess, type Run } from './testing/in-process-cli';
import { bookDeferred, exportCsv, mutateLegacy, type Mutations } from './testing/legacy-mutations';
import { PAST_THE_GATES } from '../../testing/past-the-gates';

/**
 * S4 is exact: S1 at the as-of, legacy lives on (every kind of change, a few bad rows), then S4 at a later
 * as-of; the target must hold what S1 gives when run on the final legacy data with that later as-of, the
 * sessions still upcoming aside (they are `scheduled`). The expectation is S1 itself, run into a second
 * database and compared table by table. On MariaDB and on a CSV export of the same data.
 */
const LATER = new Date(FIXTURE.asOf.getTime() + 30 * 86_400_000);
const ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://dc.internal:8080',
      routes: [{ name: 'legacy-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};

const cli = (env: Record<string, string>, ...args: string[]) => runInProcess(args, env);

const SESSIONS = `select s.legacy_id, s.id, s.patient_ref, s.practitioner_ref, s.scheduled_start, s.scheduled_end, s.started_at, s.ended_at, s.status::text,
  s.cancel_reason, s.video_backend::text, s.room_name, case when b.session_id is null then s.encounter_ref end as legacy_encounter_ref,
  s.migrated_from, s.created_at, s.updated_at
  from virtual_sessions s left join vc_migration.encounter_backfills b on b.session_id = s.id and b.encounter_ref = s.encounter_ref
  where s.tenant_id = 'acme' order by s.legacy_id`;
const PARTICIPANTS = `select s.legacy_id, p.participant_ref, p.role::text, p.display_name, p.first_joined_at, p.last_left_at, p.last_joined_at, p.join_count, p.source::text
  from session_participants p join virtual_sessions s on s.id = p.session_id where p.tenant_id = 'acme' order by 1, 2`;
type Row = Record<string, unknown>;

let legacy: LegacyDatabases;
let fhir: FhirStandIn;
let work: string;
let mutations: Mutations;
const dbs: TestDatabase[] = [];
const clients: pg.Client[] = [];
const kongs: KongAdminStandIn[] = [];

async function database(): Promise<{ url: string; q: (text: string) => Promise<Row[]> }> {
  const db = await createTestDatabase();
  dbs.push(db);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  clients.push(client);
  return { url: db.url, q: async (text) => (await client.query(text)).rows as Row[] };
}

beforeAll(async () => {
  [legacy, fhir, work] = await Promise.all([loadLegacyDatabases('s4x'), startFhirStandIn(), mkdtemp(join(tmpdir(), 'vc-s4x-'))]);
  await bookDeferred(legacy.legacyUrl, FIXTURE.asOf);
  await exportCsv(legacy.legacyUrl, join(work, 'before'));
}, 300_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
  await Promise.all([
    ...dbs.map((d) => d.drop()),
    ...kongs.map((k) => k.close()),
    legacy?.drop(),
    fhir?.close(),
    work ? rm(work, { recursive: true, force: true }) : undefined,
  ]);
});

describe.each([
  ['MariaDB', (): Record<string, string> => ({ VC_LEGACY_DATABASE_URL: legacy.legacyUrl })],
  ['the CSV export', (when: 'before' | 'after'): Record<string, string> => ({ VC_LEGACY_EXPORT_DIR: join(work, when) })],
] as const)('S4 after legacy lived on, from %s', { timeout: 300_000 }, (_name, sourceOf) => {
  let target: Awaited<ReturnType<typeof database>>;
  let expected: Awaited<ReturnType<typeof database>>;
  let base: Record<string, string>;
  let s4: (...extra: string[]) => Promise<Run>;
  let first: {
    steps: Array<{ id: string; written: number; warnings: number; read: number }>;
    warnings: Record<string, number>;
    rejects: Record<string, number>;
  };

  beforeAll(async () => {
    [target, expected] = await Promise.all([database(), database()]);
    const kong = await startKongAdminStandIn({ initial: ROUTING });
    kongs.push(kong);
    base = {
      VC_LOG_LEVEL: 'silent',
      VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
      VC_FHIR_BASE_URL: fhir.url,
      VC_KONG_ADMIN_URL: kong.url,
      VC_KMS: `local:${join(work, 'kms.json')}`,
    };
    const source = (when: 'before' | 'after') => sourceOf(when);
    const s1 = (url: string, when: 'before' | 'after', asOf: Date) =>
      cli({ ...base, ...source(when), VC_DATABASE_URL: url }, 'phase', 's1', '--tenant', 'acme', '--as-of', asOf.toISOString(), '--max-reject-rate', '0.5');
    const ran = await s1(target.url, 'before', FIXTURE.asOf);
    expect(ran.code, ran.error).toBe(0);
    // The legacy data changes once (MariaDB); both paths read it, the CSV path from an export taken after.
    if (!mutations) {
      mutations = await mutateLegacy(legacy.legacyUrl, FIXTURE.asOf, LATER);
      await exportCsv(legacy.legacyUrl, join(work, 'after'));
    }
    s4 = (...extra) =>
      cli(
        { ...base, ...source('after'), VC_DATABASE_URL: target.url },
        'phase',
        's4',
        '--tenant',
        'acme',
        '--as-of',
        LATER.toISOString(),
        '--service-upstream',
        'http://vc.internal:8080',
        '--max-reject-rate',
        '0.5',
        '--json',
        ...PAST_THE_GATES,
        ...extra,
      );
    const sync = await s4('--batch-size', '7');
    expect(sync.code, sync.error).toBe(0);
    first = JSON.parse(sync.stdout) as typeof first;
    const truth = await s1(expected.url, 'after', LATER);
    expect(truth.code, truth.error).toBe(0);
  }, 300_000);

  it('the sessions equal what S1 loads from the final legacy data; the others are still upcoming and scheduled', async () => {
    const [got, want] = [await target.q(SESSIONS), await expected.q(SESSIONS)];
    const wanted = new Set(want.map((r) => r.legacy_id));
    expect(got.filter((r) => wanted.has(r.legacy_id))).toEqual(want);
    const upcoming = got.filter((r) => !wanted.has(r.legacy_id));
    const [deferred] = await expected.q(`select deferred from vc_migration.step_checkpoints where tenant_id = 'acme' and phase = 's1' and step_id = '1.1'`);
    expect(upcoming).toHaveLength(deferred!.deferred as number);
    expect(upcoming.map((r) => r.legacy_id)).toContain(mutations.upcoming);
    expect(upcoming.every((r) => (r.status === 'scheduled' || r.status === 'cancelled') && r.started_at === null && r.ended_at === null)).toBe(true);
  });

  it('the participants equal what S1 folds from the final legacy data', async () => {
    expect(await target.q(PARTICIPANTS)).toEqual(await expected.q(PARTICIPANTS));
  });

  it('by the §5 rules: the inferred end is the last leave, later joins are counted, cancelled sessions have participants', async () => {
    const one = async (sql: string) => (await target.q(sql))[0]!;
    const stuck = await one(`select status::text, ended_at from virtual_sessions where tenant_id = 'acme' and legacy_id = '${mutations.stuck.id}'`);
    expect(stuck).toEqual({ status: 'ended', ended_at: new Date(`${mutations.stuck.lastLeft.replace(' ', 'T')}Z`) });
    const care = await one(
      `select p.role::text, p.join_count from session_participants p join virtual_sessions s on s.id = p.session_id where s.legacy_id = '${mutations.old.id}' and p.participant_ref = 'RelatedPerson/rp-s4-care'`,
    );
    expect(care).toEqual({ role: 'caregiver', join_count: 1 });
    const rejoined = await one(
      `select count(*)::int as joins from session_participants p join virtual_sessions s on s.id = p.session_id where s.legacy_id = '${mutations.old.id}' and p.participant_ref = '${mutations.old.rejoined}' and p.join_count >= 2`,
    );
    expect(rejoined.joins).toBe(1);
    const cancelled = await target.q(
      `select s.status::text, s.cancel_reason, p.role::text from virtual_sessions s join session_participants p on p.session_id = s.id where s.legacy_id = '${mutations.cancelled}'`,
    );
    expect(cancelled).toEqual([{ status: 'cancelled', cancel_reason: 'patient unwell', role: 'practitioner' }]);
  });

  it('bad rows are rejected with their raw row, an event without an actor as missing_actor', async () => {
    const rejects = await target.q(
      `select reason, raw->>'entityId' as entity from vc_migration.rejects where tenant_id = 'acme' and phase = 's4' order by 1, 2`,
    );
    expect(rejects).toEqual(
      expect.arrayContaining([
        { reason: 'missing_actor', entity: mutations.old.id },
        { reason: 'orphan_event', entity: '999999' },
        { reason: 'left_without_join', entity: mutations.late },
        { reason: 'missing_patient', entity: null },
      ]),
    );
    expect(first.rejects).toMatchObject({ missing_actor: 1, orphan_event: 1, left_without_join: 1, missing_patient: 1 });
  });

  it('counts are per source row: 4.3 after 4.1 wrote nothing and warned nothing', () => {
    const [s41, , s43] = first.steps;
    expect(s41!.written).toBeGreaterThan(0);
    expect({ written: s43!.written, warnings: s43!.warnings }).toEqual({ written: 0, warnings: 0 });
    // 900003 has no videoBackend: one source row, one warning.
    expect(first.warnings.defaulted_video_backend).toBeGreaterThanOrEqual(1);
    expect(s41!.warnings).toBe(Object.values(first.warnings).reduce((a, b) => a + b, 0));
  });

  it('a second S4 and a --restart-step 4.1 change nothing and report nothing written', async () => {
    const state = async () => ({
      sessions: await target.q(`${SESSIONS.replace('s.migrated_from,', 's.migrated_from, s.version,')}`),
      participants: await target.q(PARTICIPANTS),
    });
    const before = await state();
    expect((await s4()).code).toBe(0);
    const again = await s4('--restart-step', '4.1');
    expect(again.code, again.error).toBe(0);
    const steps = (JSON.parse(again.stdout) as typeof first).steps;
    expect(steps.filter((s) => s.id !== '4.2').map((s) => [s.id, s.written])).toEqual([
      ['4.1', 0],
      ['4.3', 0],
    ]);
    expect(await state()).toEqual(before);
  });
});
