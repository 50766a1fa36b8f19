import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckResult } from '@vc/domain/checklist';
import { startAccessPolicyStandIn } from '@vc/integrations/access-policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlSource } from '../../legacy/mysql-source';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { streamedFingerprints, type StreamedTable } from '../../validate/streamed-fingerprints';
import { s1Watermark } from '../../validate/watermark';
import { runInProcess } from './testing/in-process-cli';
import { startLegacyHarness, type LegacyHarness } from './testing/legacy-harness';
import { exportCsv } from './testing/legacy-mutations';
import { BOOKED_AFTER_S1, eventValues, heldInNovember, insertRows, sessionValues, type LegacyRowValues } from './testing/legacy-rows';

/**
 * S4's delta sync and validate on legacy data the other tests never used: legacy living on between S1, 4.1 and
 * 4.3 the way a live system does (in-place voids of bills, rows turned invalid, rows rejected then fixed).
 * Each case is a tenant of its own in one generated legacy database (seed 77).
 */
const S1_AS_OF = '2026-11-01T00:00:00Z';
const S4_AS_OF = '2026-12-01T00:00:00Z';
const AFTER_S1 = BOOKED_AFTER_S1;
const gates = ['--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES];

let harness: LegacyHarness;
let env: Record<string, string>;
let accessPolicy: Awaited<ReturnType<typeof startAccessPolicyStandIn>>;

beforeAll(async () => {
  [harness, accessPolicy] = await Promise.all([startLegacyHarness('late_changes', { sessions: 3, seed: 77, asOf: S1_AS_OF }), startAccessPolicyStandIn()]);
  env = {
    ...harness.env,
    VC_LEGACY_DATABASE_URL: harness.legacy.url,
    VC_PORTAL_DATABASE_URL: harness.legacy.portalUrl,
    VC_ACCESS_POLICY_URL: accessPolicy.url,
  };
}, 180_000);

afterAll(async () => {
  await accessPolicy?.close();
  await harness?.close();
});

const insert = (table: 'VirtualSession' | 'AuditLog', rows: LegacyRowValues[]) => insertRows(harness.mariadb, table, rows);
const phase = (tenant: string, source: Record<string, string>, ...args: string[]) =>
  runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], { ...env, ...source });
const mysqlSource = () => ({ VC_LEGACY_DATABASE_URL: harness.legacy.url });
async function csvSource(label: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(harness.work, `${label}-`));
  await exportCsv(harness.legacy.url, dir);
  return { VC_LEGACY_EXPORT_DIR: dir, VC_LEGACY_DATABASE_URL: '' };
}

/** `migrator validate --json` for one tenant: its checks by id. */
async function validate(tenant: string, source: Record<string, string>, ...args: string[]): Promise<Checks> {
  const run = await runInProcess(['validate', '--tenant', tenant, '--json', '--out', await mkdtemp(join(harness.work, 'reports-')), ...args], {
    ...env,
    ...source,
  });
  expect([0, 3], run.error).toContain(run.code);
  const out = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as { checks: CheckResult[] };
  return Object.fromEntries(out.checks.map((c) => [c.id, c]));
}

const ok = (run: { code: number; error?: string }) => expect(run.code, run.error).toBe(0);

type Checks = Record<string, CheckResult>;
/** `verdict` of validate's checks for the tenant, on MariaDB then on a fresh CSV export of it (`label` names the export). */
async function onBothPaths<T extends object>(tenant: string, label: string, verdict: (checks: Checks) => T, ...args: string[]) {
  const verdicts: Array<{ path: 'mysql' | 'csv' } & T> = [];
  for (const [path, source] of [
    ['mysql', mysqlSource()],
    ['csv', await csvSource(label)],
  ] as const)
    verdicts.push({ path, ...verdict(await validate(tenant, source, ...args)) });
  return verdicts;
}
/** The same verdict expected on both paths. */
const both = <T extends object>(verdict: T) => [
  { path: 'mysql', ...verdict },
  { path: 'csv', ...verdict },
];
const statuses = (checks: Checks) => ({
  reconciled: checks['sessions.reconciled']?.status,
  sessions: checks['fingerprints.sessions']?.status,
  participants: checks['fingerprints.participants']?.status,
});

async function legacyBill(values: LegacyRowValues): Promise<string> {
  const [result] = await harness.mariadb.query(`INSERT INTO BillingEvent SET ?`, [values]);
  return String((result as { insertId: number }).insertId);
}

describe('a bill legacy voided in place after it was carried over', () => {
  it('is void in billing_events after the final sync (not still published beside its re-bill)', async () => {
    const tenant = 'lc-void';
    const [id] = await insert('VirtualSession', [
      sessionValues(tenant, {
        endedAt: '2026-10-25 10:25:00',
        scheduledStart: '2026-10-25 10:00:00',
        scheduledEnd: '2026-10-25 10:30:00',
        startedAt: '2026-10-25 10:00:00',
      }),
    ]);
    const bill = { tenantId: tenant, sessionId: id!, code: '99213', modifier: '95', placeOfService: '02', units: 1, occurredAt: '2026-10-25 10:26:00' };
    const first = await legacyBill({ ...bill, status: 'submitted' });
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates));
    const carried = await harness.client.query<{ legacy_id: string; status: string }>(
      'select legacy_id, status::text from billing_events where tenant_id = $1 order by legacy_id',
      [tenant],
    );
    expect(carried.rows).toEqual([{ legacy_id: first, status: 'published' }]);
    // Legacy voids the bill in place and bills again with a corrected code (legacy keeps taking writes until its 301s).
    await harness.mariadb.query(`update BillingEvent set status = 'void' where id = ?`, [first]);
    const rebill = await legacyBill({ ...bill, code: '99214', occurredAt: '2026-10-26 09:00:00', status: 'submitted' });
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    const after = await harness.client.query<{ legacy_id: string; status: string }>(
      'select legacy_id, status::text from billing_events where tenant_id = $1 order by legacy_id::bigint',
      [tenant],
    );
    // Legacy bills the session once (the re-bill); the target must not bill it twice (the S2 rule: a void is carried as void).
    expect(after.rows).toEqual([
      { legacy_id: first, status: 'void' },
      { legacy_id: rebill, status: 'published' },
    ]);
  }, 180_000);
});

describe('a bill legacy voided in place, seen by validate', () => {
  it('billing.recent_sessions passes once the void is carried, and fails naming the bill when the target still bills it', async () => {
    const tenant = 'lc-void-check';
    await insert('VirtualSession', [sessionValues(tenant)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    // Booked and held after S1, ended within validate's 30 days before S4_AS_OF.
    const [id] = await insert('VirtualSession', [heldInNovember(tenant, 15, { updatedAt: '2026-11-15 10:28:00' })]);
    const bill = { tenantId: tenant, sessionId: id!, code: '99213', modifier: '95', placeOfService: '02', units: 1, occurredAt: '2026-11-15 10:26:00' };
    const first = await legacyBill({ ...bill, status: 'submitted' });
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates));
    await harness.mariadb.query(`update BillingEvent set status = 'void' where id = ?`, [first]);
    const rebill = await legacyBill({ ...bill, code: '99214', occurredAt: '2026-11-16 09:00:00', status: 'submitted' });
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    // A re-run finds the status equal: nothing written again.
    const again = await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    ok(again);
    const rows = await harness.client.query(`select legacy_id, status::text from billing_events where tenant_id = $1 order by legacy_id::bigint`, [tenant]);
    expect(rows.rows).toEqual([
      { legacy_id: first, status: 'void' },
      { legacy_id: rebill, status: 'published' },
    ]);
    const billing = () =>
      onBothPaths(
        tenant,
        'void-check',
        (checks) => ({ status: checks['billing.recent_sessions']?.status, samples: checks['billing.recent_sessions']?.samples }),
        '--as-of',
        S4_AS_OF,
      );
    expect(await billing()).toEqual(both({ status: 'pass', samples: [] }));
    // The target billing the voided bill again (what the carry-over did before it carried voids): both bills billed.
    await harness.client.query(`update billing_events set status = 'published' where tenant_id = $1 and legacy_id = $2`, [tenant, first]);
    expect(await billing()).toEqual(both({ status: 'fail', samples: [`BillingEvent:${first}`] }));
  }, 240_000);
});

describe('rows S1 rejected that legacy later fixed, and rows S1 loaded that legacy later broke', () => {
  it('a session S1 rejected missing_patient, fixed in legacy after S1, is loaded with its participants and validate passes on both paths', async () => {
    const tenant = 'lc-fixed';
    await insert('VirtualSession', [sessionValues(tenant)]);
    const [broken] = await insert('VirtualSession', [sessionValues(tenant, { patientRef: '  ' })]);
    await insert('AuditLog', [eventValues(tenant, broken!), eventValues(tenant, broken!, { action: 'participant.left', occurredAt: '2026-10-01 10:20:00' })]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    await harness.mariadb.query(`update VirtualSession set patientRef = 'Patient/p-fixed', updatedAt = ? where id = ?`, [AFTER_S1, broken]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    const loaded = await harness.client.query(
      `select s.legacy_id, count(p.*)::int as participants from virtual_sessions s left join session_participants p on p.session_id = s.id
        where s.tenant_id = $1 group by s.legacy_id order by s.legacy_id::bigint`,
      [tenant],
    );
    expect(loaded.rows.find((r) => r.legacy_id === broken)).toEqual({ legacy_id: broken, participants: 1 });
    expect(await onBothPaths(tenant, 'fixed', statuses)).toEqual(both({ reconciled: 'pass', sessions: 'pass', participants: 'pass' }));
  }, 240_000);

  it('a session S1 loaded that legacy edited into an invalid row after S1 fails validate naming it (the target still serves the old copy)', async () => {
    const tenant = 'lc-broke';
    const [kept, broke] = await insert('VirtualSession', [sessionValues(tenant), sessionValues(tenant, { patientRef: 'Patient/p-2' })]);
    await insert('AuditLog', [eventValues(tenant, broke!)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    // Legacy's edit: the patient reference is replaced by one the API cannot hold; S4 rejects the new version.
    await harness.mariadb.query(`update VirtualSession set patientRef = 'p 2 (merged)', updatedAt = ? where id = ?`, [AFTER_S1, broke]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    const rejects = await harness.client.query<{ legacy_key: string; reason: string }>(
      `select legacy_key, reason::text from vc_migration.rejects where tenant_id = $1 and phase = 's4'`,
      [tenant],
    );
    expect(rejects.rows).toContainEqual({ legacy_key: broke, reason: 'invalid_reference' });
    void kept;
    const sessions = (checks: Checks) => ({ status: checks['fingerprints.sessions']?.status, samples: checks['fingerprints.sessions']?.samples });
    expect(await onBothPaths(tenant, 'broke', sessions)).toEqual(both({ status: 'fail', samples: [`VirtualSession:${broke}`] }));
  }, 240_000);
});

describe('tenant spelled differently on rows legacy took after S1', () => {
  it('sessions, events and bills of "LC-Case " are synced under lc-case and validate passes on both paths', async () => {
    const tenant = 'lc-case';
    await insert('VirtualSession', [sessionValues(tenant)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    const [a] = await insert('VirtualSession', [heldInNovember('LC-Case ', 20)]);
    await insert('AuditLog', [
      eventValues('LC-CASE', a!, { occurredAt: '2026-11-20 10:03:00' }),
      eventValues('lc-case ', a!, { action: 'participant.left', occurredAt: '2026-11-20 10:27:00' }),
    ]);
    await legacyBill({
      tenantId: 'LC-case',
      sessionId: a!,
      code: '99213',
      modifier: '95',
      placeOfService: '02',
      units: 1,
      occurredAt: '2026-11-20 10:28:00',
      status: 'submitted',
    });
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    const rows = await harness.client.query(
      `select s.legacy_id, s.status::text, (select count(*)::int from session_participants p where p.session_id = s.id) as participants,
              (select count(*)::int from billing_events b where b.session_id = s.id) as bills
         from virtual_sessions s where s.tenant_id = $1 and s.legacy_id = $2`,
      [tenant, a],
    );
    expect(rows.rows).toEqual([{ legacy_id: a, status: 'ended', participants: 1, bills: 1 }]);
    const withBilling = (checks: Checks) => ({ ...statuses(checks), billing: checks['billing.recent_sessions']?.status });
    expect(await onBothPaths(tenant, 'case', withBilling)).toEqual(both({ reconciled: 'pass', sessions: 'pass', participants: 'pass', billing: 'pass' }));
  }, 240_000);
});

/**
 * Whether the streamed pass (MariaDB) alone finds the tenant's sessions and participants equal: a row left out of
 * one side of its sums and not the other would send validate to the per-id maps, which find it equal, slower.
 */
async function streamedAgrees(tenant: string): Promise<{ sessions: boolean; participants: boolean }> {
  const source = createMysqlSource(harness.legacy.url);
  try {
    const streamed = await streamedFingerprints(harness.handle.db, source, tenant, (await s1Watermark(harness.handle.db, tenant))!, 2);
    const agrees = (t: StreamedTable) => t.complete && t.legacy.sum === t.target.sum && t.legacy.rows === t.target.rows;
    return { sessions: agrees(streamed.sessions), participants: agrees(streamed.participants) };
  } finally {
    await source.close();
  }
}

const participantsOf = async (tenant: string, legacyId: string) =>
  (
    await harness.client.query(
      `select p.participant_ref, p.join_count, p.last_left_at, p.source::text from session_participants p join virtual_sessions s on s.id = p.session_id
        where s.tenant_id = $1 and s.legacy_id = $2 order by p.participant_ref`,
      [tenant, legacyId],
    )
  ).rows;

async function passesOnBothPaths(tenant: string, label: string): Promise<void> {
  const verdicts = await onBothPaths(tenant, label, (checks) => ({
    ...statuses(checks),
    samples: [...(checks['fingerprints.sessions']?.samples ?? []), ...(checks['fingerprints.participants']?.samples ?? [])],
  }));
  expect(verdicts).toEqual(both({ reconciled: 'pass', sessions: 'pass', participants: 'pass', samples: [] }));
}

describe('legacy after 4.1: a rejoin, events of a session still rejected, a rollback and a second cutover', () => {
  it('a rejoin legacy logged after 4.1 is folded by 4.3 (join_count 2, the later leave) and validate passes', async () => {
    const tenant = 'lc-rejoin';
    const [id] = await insert('VirtualSession', [sessionValues(tenant)]);
    await insert('AuditLog', [eventValues(tenant, id!), eventValues(tenant, id!, { action: 'participant.left', occurredAt: '2026-10-01 10:20:00' })]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates));
    await insert('AuditLog', [
      eventValues(tenant, id!, { occurredAt: '2026-10-01 10:21:00' }),
      eventValues(tenant, id!, { action: 'participant.left', occurredAt: '2026-10-01 10:24:00' }),
    ]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    expect(await participantsOf(tenant, id!)).toEqual([
      { participant_ref: 'Practitioner/d-1', join_count: 2, last_left_at: new Date('2026-10-01T10:24:00Z'), source: 'audit_backfill' },
    ]);
    await passesOnBothPaths(tenant, 'rejoin');
  }, 240_000);

  it('events of a session S1 rejected and legacy never fixed are rejected orphan_event once each, across S1, 4.1 and 4.3', async () => {
    const tenant = 'lc-orphan';
    await insert('VirtualSession', [sessionValues(tenant)]);
    const [bad] = await insert('VirtualSession', [sessionValues(tenant, { patientRef: '' })]);
    const [early] = await insert('AuditLog', [eventValues(tenant, bad!)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    const [late] = await insert('AuditLog', [eventValues(tenant, bad!, { action: 'participant.left', occurredAt: '2026-10-01 10:20:00' })]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    const rejects = await harness.client.query<{ legacy_key: string; reason: string }>(
      `select legacy_key, reason::text from vc_migration.rejects where tenant_id = $1 and reason = 'orphan_event' order by legacy_key`,
      [tenant],
    );
    expect(rejects.rows.map((r) => r.legacy_key).sort()).toEqual([early!, `AuditLog:${late!}`].sort());
    await passesOnBothPaths(tenant, 'orphan');
  }, 240_000);

  it('after rollback s4, what legacy took while it served traffic again is synced by the second cutover, and validate passes', async () => {
    const tenant = 'lc-rollback';
    const [, edited] = await insert('VirtualSession', [sessionValues(tenant), sessionValues(tenant, { patientRef: 'Patient/p-2' })]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates));
    const back = await runInProcess(['rollback', 's4', '--all-tenants', '--json'], env);
    ok(back);
    // Legacy serves traffic again: a session booked and held, an edit, participants.
    const [a] = await insert('VirtualSession', [
      sessionValues(tenant, {
        patientRef: 'Patient/p-25',
        scheduledStart: '2026-11-25 10:00:00',
        scheduledEnd: '2026-11-25 10:30:00',
        startedAt: '2026-11-25 10:01:00',
        endedAt: '2026-11-25 10:29:00',
        createdAt: '2026-11-21 08:00:00',
        updatedAt: '2026-11-25 10:29:00',
      }),
    ]);
    await insert('AuditLog', [eventValues(tenant, a!, { occurredAt: '2026-11-25 10:01:00' })]);
    await harness.mariadb.query(`update VirtualSession set practitionerRef = 'Practitioner/d-9', updatedAt = '2026-11-24 12:00:00' where id = ?`, [edited]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    const rows = await harness.client.query(
      `select legacy_id, practitioner_ref, status::text from virtual_sessions where tenant_id = $1 and legacy_id = any($2::text[]) order by legacy_id::bigint`,
      [tenant, [edited, a]],
    );
    expect(rows.rows).toEqual([
      { legacy_id: edited, practitioner_ref: 'Practitioner/d-9', status: 'ended' },
      { legacy_id: a, practitioner_ref: 'Practitioner/d-1', status: 'ended' },
    ]);
    expect(await participantsOf(tenant, a!)).toHaveLength(1);
    await passesOnBothPaths(tenant, 'rollback');
  }, 240_000);
});

/** S1, then a session that failed before its slot, then 4.1 (and the cutover) while it is still upcoming: its legacy id. */
async function failedBeforeItsSlot(tenant: string): Promise<string> {
  await insert('VirtualSession', [sessionValues(tenant)]);
  ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
  // Booked after S1 for 10:00 on the 20th; the practitioner opened the room at 09:55 and the call failed at 09:57.
  const [failed] = await insert('VirtualSession', [
    heldInNovember(tenant, 20, { startedAt: '2026-11-20 09:55:00', endedAt: null, status: 'failed', updatedAt: '2026-11-20 09:57:00' }),
  ]);
  // 4.1 (and the cutover) at 09:58, before the scheduled start: the session is upcoming, loaded `cancelled`.
  ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T09:58:00Z', ...gates));
  return failed!;
}

describe('a session legacy cancelled while it was upcoming at 4.1, past at 4.3', () => {
  it('started early and failed before 4.1 read it, never touched again: 4.3 and validate agree on it and validate passes', async () => {
    const tenant = 'lc-failed-early';
    const failed = await failedBeforeItsSlot(tenant);
    // The final sync again, days later: the session is past; legacy never touched it again.
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    const row = await harness.client.query(`select status::text, started_at from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [tenant, failed]);
    // S1's mapping at 4.3's as-of: failed → cancelled, startedAt carried over as it is (docs/design.md §5).
    expect(row.rows).toEqual([{ status: 'cancelled', started_at: new Date('2026-11-20T09:55:00Z') }]);
    await passesOnBothPaths(tenant, 'failed-early');
  }, 240_000);
});

describe('a session loaded as upcoming by 4.1 that the new service changed before 4.3', () => {
  it('is not mapped again from legacy: the service’s row stays, and validate passes', async () => {
    const tenant = 'lc-failed-served';
    const failed = await failedBeforeItsSlot(tenant);
    // After the cutover the service owns the session: the practice notes why it was cancelled.
    await harness.client.query(
      `update virtual_sessions set cancel_reason = 'rebooked by the practice', updated_at = '2026-11-21T08:00:00Z', version = version + 1
        where tenant_id = $1 and legacy_id = $2`,
      [tenant, failed],
    );
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates));
    const row = await harness.client.query(`select status::text, started_at, cancel_reason from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [
      tenant,
      failed,
    ]);
    expect(row.rows).toEqual([{ status: 'cancelled', started_at: null, cancel_reason: 'rebooked by the practice' }]);
    await passesOnBothPaths(tenant, 'failed-served');
  }, 240_000);
});

describe('an edit legacy stamped with the updatedAt of the version 4.1 synced', () => {
  it('is synced by 4.3 (same version, other content), once, and validate passes', async () => {
    const tenant = 'lc-same-stamp';
    await insert('VirtualSession', [sessionValues(tenant)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    const [id] = await insert('VirtualSession', [heldInNovember(tenant, 15)]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', '2026-11-20T00:00:00Z', ...gates));
    // Two writes in one millisecond (or a writer that keeps updatedAt): the version 4.1 read, other content.
    await harness.mariadb.query(`update VirtualSession set practitionerRef = 'Practitioner/d-7', updatedAt = updatedAt where id = ?`, [id]);
    const final = await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    ok(final);
    const again = await phase(tenant, mysqlSource(), 'phase', 's4', '--restart-step', '4.3', '--as-of', S4_AS_OF, ...gates);
    ok(again);
    const written = (run: { stdout: string }) =>
      (JSON.parse(run.stdout) as { steps: Array<{ id: string; written: number }> }).steps.find((step) => step.id === '4.3')?.written;
    expect([written(final), written(again)]).toEqual([1, 0]);
    const row = await harness.client.query(`select practitioner_ref from virtual_sessions where tenant_id = $1 and legacy_id = $2`, [tenant, id]);
    expect(row.rows).toEqual([{ practitioner_ref: 'Practitioner/d-7' }]);
    await passesOnBothPaths(tenant, 'same-stamp');
  }, 240_000);
});

describe('an externalId legacy gave a second session after S1', () => {
  it('the later session is rejected duplicate_external_id once, and validate passes on both paths', async () => {
    const tenant = 'lc-extid';
    const external = '5e0d7c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6';
    await insert('VirtualSession', [sessionValues(tenant, { externalId: external })]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    // The unique key of legacy's own table refuses a second row with it: legacy moved it (its first row got a new one).
    await harness.mariadb.query(`update VirtualSession set externalId = null, updatedAt = ? where tenantId = ? and externalId = ?`, [
      AFTER_S1,
      tenant,
      external,
    ]);
    const [second] = await insert('VirtualSession', [
      heldInNovember(tenant, 21, { externalId: external, startedAt: '2026-11-21 10:00:00', endedAt: '2026-11-21 10:20:00' }),
    ]);
    ok(await phase(tenant, mysqlSource(), 'phase', 's4', '--as-of', S4_AS_OF, ...gates));
    // The target's first session keeps the id S1 gave it (the externalId): the second is quarantined, one reject.
    const rejects = await harness.client.query(`select legacy_key, reason::text from vc_migration.rejects where tenant_id = $1`, [tenant]);
    expect(rejects.rows).toEqual([{ legacy_key: second, reason: 'duplicate_external_id' }]);
    // A quarantined row is accounted for (sessions.reconciled counts it rejected): no fingerprint may name it as lost.
    await passesOnBothPaths(tenant, 'extid');
    expect(await streamedAgrees(tenant)).toEqual({ sessions: true, participants: true });
  }, 240_000);
});

describe('an externalId another tenant holds, rejected by S1', () => {
  it('the second tenant’s session is rejected duplicate_external_id, and validate passes for both tenants on both paths', async () => {
    const [first, second] = ['lc-share-a', 'lc-share-b'];
    const external = '7f1e2d3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f';
    // Legacy's unique key on externalId is not on every legacy database (two tenants' rows then share one).
    await harness.mariadb.query('alter table VirtualSession drop index uq_VirtualSession_externalId');
    const [held] = await insert('VirtualSession', [sessionValues(first, { externalId: external })]);
    const [, shared] = await insert('VirtualSession', [sessionValues(second), sessionValues(second, { externalId: external, patientRef: 'Patient/p-2' })]);
    // Participants of each: the rejected session's must leave the participants fingerprint too.
    await insert('AuditLog', [eventValues(first, held!), eventValues(second, shared!)]);
    ok(await phase(first, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    ok(await phase(second, mysqlSource(), 'phase', 's1', '--as-of', S1_AS_OF));
    const rejects = await harness.client.query(
      `select legacy_key, reason::text from vc_migration.rejects where tenant_id = $1 and reason = 'duplicate_external_id'`,
      [second],
    );
    expect(rejects.rows).toEqual([{ legacy_key: shared, reason: 'duplicate_external_id' }]);
    await passesOnBothPaths(first, 'share-a');
    await passesOnBothPaths(second, 'share-b');
    expect(await streamedAgrees(second)).toEqual({ sessions: true, participants: true });
  }, 240_000);
});
