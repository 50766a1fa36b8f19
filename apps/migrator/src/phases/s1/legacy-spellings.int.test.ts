import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { encryptLegacyCredentials } from '@vc/fixtures';
import type { TestMysqlDatabase } from '@vc/fixtures/testing';
import type { DatabaseHandle } from '@vc/schema';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCsvSource } from '../../legacy/csv-source';
import { createMysqlSource } from '../../legacy/mysql-source';
import type { LegacySource } from '../../legacy/types';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { fingerprintChecks, tenantFingerprints } from '../../validate/fingerprints';
import { checkSessionCounts } from '../../validate/sessions';
import { streamedFingerprints } from '../../validate/streamed-fingerprints';
import { s1Watermark } from '../../validate/watermark';
import { runInProcess } from '../s4/testing/in-process-cli';
import { eventValues, insertRows, sessionValues, type LegacyRowValues } from '../s4/testing/legacy-rows';
import { exportCsv } from '../s4/testing/legacy-mutations';
import { startLegacyHarness, type LegacyHarness } from '../s4/testing/legacy-harness';

/**
 * Legacy values spelled otherwise than the canonical form, end to end (S1, validate, S4's delta sync), from
 * MariaDB (plain and with the participant pushdown) and from a CSV export of the same rows: participant events
 * whose action or entityType differ in case or carry surrounding whitespace are folded, never dropped, with the
 * same participants and rejects from every source; rows whose tenantId is the tenant spelled otherwise are the
 * tenant's and are written under its id.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';

let legacy: TestMysqlDatabase;
let mariadb: mysql.Connection;
let client: pg.Client;
let handle: DatabaseHandle;
let work: string;
let env: Record<string, string>;
let masterKey: string;

let harness: LegacyHarness;

beforeAll(async () => {
  harness = await startLegacyHarness('spellings', { sessions: 3, seed: 3, asOf: AS_OF });
  ({ legacy, mariadb, client, handle, work, masterKey } = harness);
  env = { ...harness.env };
}, 180_000);

afterAll(() => harness?.close());

const session = sessionValues;
const event = eventValues;
const insert = (table: 'VirtualSession' | 'AuditLog', rows: LegacyRowValues[]) => insertRows(mariadb, table, rows);

const phase = (tenant: string, source: Record<string, string>, ...args: string[]) =>
  runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], { ...env, ...source });

/** The validate checks that reconcile sessions and compare fingerprints, as `migrator validate` runs them. */
async function validateSessions(tenant: string, source: LegacySource) {
  const watermark = (await s1Watermark(handle.db, tenant))!;
  const reconciled = await checkSessionCounts(handle.db, source, tenant, watermark, 2);
  const fingerprints = fingerprintChecks(tenant, await tenantFingerprints(handle.db, source, tenant, watermark, 2));
  return { reconciled: reconciled.status, ...Object.fromEntries(fingerprints.map((c) => [c.id, c.status])) };
}

async function participantsOf(tenant: string) {
  const { rows } = await client.query(
    `select s.legacy_id is not null as legacy, p.participant_ref, p.role, p.join_count, p.first_joined_at, p.last_left_at
       from session_participants p join virtual_sessions s on s.id = p.session_id where s.tenant_id = $1 order by p.participant_ref`,
    [tenant],
  );
  return rows;
}

const rejectsOf = async (tenant: string) =>
  (await client.query(`select phase, step_id, reason from vc_migration.rejects where tenant_id = $1 order by phase, step_id, reason`, [tenant])).rows;

describe('participant events whose action/entityType differ in case or whitespace: folded from every source alike', () => {
  const KINDS = ['csv', 'mysql', 'pushdown'] as const;
  let dir: string;

  beforeAll(async () => {
    for (const kind of KINDS) {
      const tenant = `spell-${kind}`;
      const [id] = await insert('VirtualSession', [session(tenant)]);
      await insert('AuditLog', [
        // Case: MariaDB's `in` matched it, a CSV export's exact compare did not.
        event(tenant, id!, { action: 'Participant.Joined', actorRef: 'Patient/p-1' }),
        event(tenant, id!, { action: 'participant.left', actorRef: 'Patient/p-1', occurredAt: '2026-10-01 10:20:00' }),
        // A leading space and a trailing tab: the collation keeps both, so MariaDB's `in` did not match them.
        event(tenant, id!, { action: ' participant.joined', actorRef: 'Practitioner/d-1', occurredAt: '2026-10-01 10:02:00' }),
        event(tenant, id!, { action: 'participant.left\t', actorRef: 'Practitioner/d-1', occurredAt: '2026-10-01 10:21:00' }),
        event(tenant, id!, { entityType: ' virtualSession', actorRef: 'RelatedPerson/c-1', occurredAt: '2026-10-01 10:03:00' }),
        event(tenant, id!, { entityType: 'VIRTUALSESSION\n', action: 'PARTICIPANT.LEFT ', actorRef: 'RelatedPerson/c-1', occurredAt: '2026-10-01 10:22:00' }),
        // A leave without a join, its entityId and action spelled with a leading space: rejected, from every source.
        event(tenant, ` ${id!}`, { action: ' Participant.Left', actorRef: 'Patient/ghost', occurredAt: '2026-10-01 10:23:00' }),
      ]);
    }
    dir = await mkdtemp(join(work, 'csv-'));
    await exportCsv(legacy.url, dir);
  }, 60_000);

  const sourceEnv = (kind: (typeof KINDS)[number]): Record<string, string> =>
    kind === 'csv' ? { VC_LEGACY_EXPORT_DIR: dir } : { VC_LEGACY_DATABASE_URL: legacy.url, ...(kind === 'pushdown' ? { VC_LEGACY_PUSHDOWN: 'on' } : {}) };
  const legacySource = (kind: (typeof KINDS)[number]) => (kind === 'csv' ? createCsvSource(dir) : createMysqlSource(legacy.url));

  const EXPECTED = [
    {
      legacy: true,
      participant_ref: 'Patient/p-1',
      role: 'patient',
      join_count: 1,
      first_joined_at: new Date('2026-10-01T10:01:00Z'),
      last_left_at: new Date('2026-10-01T10:20:00Z'),
    },
    {
      legacy: true,
      participant_ref: 'Practitioner/d-1',
      role: 'practitioner',
      join_count: 1,
      first_joined_at: new Date('2026-10-01T10:02:00Z'),
      last_left_at: new Date('2026-10-01T10:21:00Z'),
    },
    {
      legacy: true,
      participant_ref: 'RelatedPerson/c-1',
      role: 'caregiver',
      join_count: 1,
      first_joined_at: new Date('2026-10-01T10:03:00Z'),
      last_left_at: new Date('2026-10-01T10:22:00Z'),
    },
  ];

  const LEFT_WITHOUT_JOIN = [{ phase: 's1', step_id: '1.4', reason: 'left_without_join' }];

  it.each(KINDS)(
    '%s: S1 folds every join and leave, rejects the leave without a join, and validate passes',
    async (kind) => {
      const tenant = `spell-${kind}`;
      const r1 = await phase(tenant, sourceEnv(kind), 'phase', 's1', '--as-of', AS_OF);
      expect(r1.code, r1.error).toBe(0);
      const source = legacySource(kind);
      try {
        if (kind !== 'csv') {
          // validate's streamed pass (MariaDB) agrees on its own, not only through the per-id comparison it falls back to.
          const streamed = await streamedFingerprints(handle.db, source, tenant, (await s1Watermark(handle.db, tenant))!, 2);
          expect({ ...streamed.participants, complete: true }).toEqual({ ...streamed.participants, legacy: streamed.participants.target });
          // One share per session (its participants' JSON), the target's holding all three of them (checked below).
          expect(streamed.participants.target.rows).toBe(1);
        }
        expect({ participants: await participantsOf(tenant), rejects: await rejectsOf(tenant), validate: await validateSessions(tenant, source) }).toEqual({
          participants: EXPECTED,
          rejects: LEFT_WITHOUT_JOIN,
          validate: { reconciled: 'pass', 'fingerprints.sessions': 'pass', 'fingerprints.participants': 'pass', 'fingerprints.configs': expect.any(String) },
        });
      } finally {
        await source.close();
      }
    },
    120_000,
  );

  it.each(KINDS)(
    "%s: S4's delta sync refolds them to the same participants, rejecting nothing more",
    async (kind) => {
      const tenant = `spell-${kind}`;
      const run = await phase(tenant, sourceEnv(kind), 'phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);
      expect(run.code, run.error).toBe(0);
      expect({ participants: await participantsOf(tenant), rejects: await rejectsOf(tenant) }).toEqual({ participants: EXPECTED, rejects: LEFT_WITHOUT_JOIN });
    },
    120_000,
  );
});

describe("rows whose tenantId is the tenant spelled in another case or with trailing spaces are written under the run's tenant", () => {
  it("MariaDB: rows with tenantId 'REV-TCASE' and 'rev-tcase ' read for --tenant rev-tcase land under rev-tcase, their participants with them", async () => {
    const tenant = 'rev-tcase';
    const ids = await insert('VirtualSession', [
      session(tenant),
      session('REV-TCASE', { patientRef: 'Patient/upper' }),
      session('rev-tcase ', { patientRef: 'Patient/padded' }),
    ]);
    await insert('AuditLog', [event('REV-TCASE', ids[1]!), event('rev-tcase ', ids[2]!, { actorRef: 'Patient/padded' })]);
    const r1 = await phase(tenant, { VC_LEGACY_DATABASE_URL: legacy.url }, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    const rows = await client.query<{ legacy_id: string; tenant_id: string }>(
      `select legacy_id, tenant_id from virtual_sessions where legacy_id = any($1::text[]) order by legacy_id::bigint`,
      [ids],
    );
    expect(rows.rows).toEqual(ids.map((id) => ({ legacy_id: id, tenant_id: tenant })));
    expect((await participantsOf(tenant)).map((p) => p.participant_ref)).toEqual(['Patient/padded', 'Practitioner/d-1']);
    expect(await rejectsOf(tenant)).toEqual([]);
  }, 120_000);

  it('CSV export: the same spellings are the same tenant (as legacy reads them), written under the run tenant', async () => {
    const tenant = 'rev-tcsv';
    const ids = await insert('VirtualSession', [
      session(tenant),
      session('REV-TCSV', { patientRef: 'Patient/upper' }),
      session('rev-tcsv  ', { patientRef: 'Patient/padded' }),
    ]);
    await insert('AuditLog', [event('REV-TCSV', ids[1]!)]);
    const dir = await mkdtemp(join(work, 'csv-'));
    await exportCsv(legacy.url, dir);
    const r1 = await phase(tenant, { VC_LEGACY_EXPORT_DIR: dir }, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    const rows = await client.query(`select legacy_id, tenant_id from virtual_sessions where legacy_id = any($1::text[]) order by legacy_id::bigint`, [ids]);
    expect(rows.rows).toEqual(ids.map((id) => ({ legacy_id: id, tenant_id: tenant })));
    expect((await participantsOf(tenant)).map((p) => p.participant_ref)).toEqual(['Practitioner/d-1']);
    expect(await rejectsOf(tenant)).toEqual([]);
  }, 120_000);

  it("a tenant's config spelled otherwise: the config's spelling is the tenant's id, another spelling is refused", async () => {
    const credentials = encryptLegacyCredentials('s3cret', masterKey, 'REV-TCONF', Buffer.alloc(12, 7));
    await mariadb.query('INSERT INTO TenantVirtualCareConfig SET ?', [
      {
        tenantId: 'REV-TCONF',
        jitsiServerUrl: 'https://meet.test',
        jitsiAppId: 'app',
        credentials,
        branding: null,
        enabled: 1,
        updatedAt: '2026-09-01 08:00:00',
      },
    ]);
    const [id] = await insert('VirtualSession', [session('rev-tconf')]);
    const refused = await phase('rev-tconf', { VC_LEGACY_DATABASE_URL: legacy.url }, 'phase', 's1', '--as-of', AS_OF);
    expect({ code: refused.code, error: refused.error }).toEqual({ code: 2, error: expect.stringContaining('is spelled "REV-TCONF"') });
    const r1 = await phase('REV-TCONF', { VC_LEGACY_DATABASE_URL: legacy.url }, 'phase', 's1', '--as-of', AS_OF);
    expect(r1.code, r1.error).toBe(0);
    expect((await client.query('select tenant_id from virtual_sessions where legacy_id = $1', [id])).rows).toEqual([{ tenant_id: 'REV-TCONF' }]);
    expect((await client.query(`select tenant_id from tenant_virtual_care_configs where tenant_id in ('REV-TCONF', 'rev-tconf')`)).rows).toEqual([
      { tenant_id: 'REV-TCONF' },
    ]);
    expect(await rejectsOf('REV-TCONF')).toEqual([]);
  }, 120_000);
});
