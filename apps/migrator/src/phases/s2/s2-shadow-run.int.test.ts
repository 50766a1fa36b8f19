import { randomUUID } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import { runInProcess } from '../s4/testing/in-process-cli';

/**
 * S2 over a genuine shadow-mode parallel run, with the rows the service writes in `VC_MODE=shadow`
 * (apps/service/README.md "Shadow mode": no Encounter is ever created, billing events stay `pending`, a
 * session nobody started bills nothing), and legacy bills no claim can carry. One tenant per case:
 * - acme: a parallel pair whose legacy twin has an Encounter. The shadow session cannot have one by design,
 *   so the comparison must not count it a mismatch (as 2.4's checks exempt it) — else every real parallel run
 *   in shadow mode is a no-go.
 * - umbrella (globex's credentials are the fixture's corrupt ones): a native session the patient waited in and the
 *   practitioner ended without starting it (waiting → ended). The service bills nothing for it (buildBillingEvent:
 *   no service delivered), so 2.4 must not call its missing bill a "service defect" gap.
 * - hooli: legacy bills of 0 and -2 units: carried as legacy billed them, or rejected, or warned — never
 *   silently turned into 1 unit (docs/design.md: a row is loaded as it is, with a warning, or rejected): rejected
 *   `invalid_value` naming `units`, as no claim bills 0 or fewer units.
 * - stark: a legacy bill with no placeOfService (NULL, as the legacy DDL allows): not silently billed as POS 02; the
 *   target column is NOT NULL (every claim line names one), so it is rejected `invalid_value` naming `placeOfService`.
 * - initech: a legacy CSV bill of a migrated session with units out of PostgreSQL's int range: one row, so a
 *   reject (or a carried row), never a step that fails on every run.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: CsvTarget;
let jitsi: JitsiStandIn, fhir: FhirStandIn;
let env: Record<string, string>;

const csv = (file: string) => join(target.env.VC_LEGACY_EXPORT_DIR!, `${file}.csv`);
const quote = (v: string | null) => (v === null ? '\\N' : /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Appends one record to a legacy CSV export, in the order its header names the columns. */
async function appendRow(file: string, values: Record<string, string | null>): Promise<void> {
  const text = await readFile(csv(file), 'utf8');
  const header = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/, 1)[0]!
    .split(',');
  const line = header.map((c) => quote(values[c] ?? null)).join(',');
  await appendFile(csv(file), `${text.endsWith('\n') ? '' : '\n'}${line}\n`);
}

const run = async (tenant: string, ...args: string[]) => {
  const result = await runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], env);
  return {
    ...result,
    steps: result.stdout
      ? (JSON.parse(result.stdout) as { steps: Array<{ id: string; status: string; warnings: number; facts: Record<string, unknown> }> }).steps
      : [],
  };
};
const s2 = (tenant: string, ...extra: string[]) =>
  run(tenant, 'phase', 's2', '--as-of', AS_OF, '--window', '14d', '--report-dir', join(target.work, 'reports'), ...extra);

/** A native session as the service leaves it in shadow mode after `end`: no encounter_ref, its audit trail, its participants. */
async function shadowSession(
  tenant: string,
  s: { patient: string; doctor: string; startedAt: string | null; endedAt: string; billed: boolean },
): Promise<string> {
  const id = randomUUID();
  await target.client.query(
    `insert into virtual_sessions (id, tenant_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, created_at, updated_at)
     values ($1, $2, $3, $4, '2026-10-28T10:00:00Z', '2026-10-28T10:30:00Z', $5, $6, 'ended', '2026-10-20T09:00:00Z', $6)`,
    [id, tenant, s.patient, s.doctor, s.startedAt, s.endedAt],
  );
  const joined = [[s.patient, 'patient'], ...(s.startedAt ? [[s.doctor, 'practitioner']] : [])];
  for (const [ref, role] of joined)
    await target.client.query(
      `insert into session_participants (session_id, tenant_id, participant_ref, role, first_joined_at, last_joined_at, join_count, source)
       values ($1, $2, $3, $4, '2026-10-28T10:00:30Z', '2026-10-28T10:00:30Z', 1, 'live')`,
      [id, tenant, ref, role],
    );
  if (s.billed)
    await target.client.query(
      `insert into billing_events (tenant_id, session_id, code, modifier, place_of_service, occurred_at) values ($1, $2, '99213', '95', '02', $3)`,
      [tenant, id, s.endedAt],
    );
  for (const action of ['session.created', 'participant.joined', 'session.ended'])
    await target.client.query(`insert into session_audit_events (tenant_id, session_id, action, occurred_at) values ($1, $2, $3, $4)`, [
      tenant,
      id,
      action,
      s.endedAt,
    ]);
  return id;
}

/** Its legacy twin (externalId = the new session id), appended to the export after S1, with the patient's join. */
async function legacyTwin(
  tenant: string,
  id: string,
  externalId: string,
  s: { patient: string; doctor: string; startedAt: string | null; endedAt: string; encounterRef: string | null },
) {
  await appendRow('VirtualSession', {
    id,
    tenantId: tenant,
    externalId,
    patientRef: s.patient,
    practitionerRef: s.doctor,
    scheduledStart: '2026-10-28 10:00:00',
    scheduledEnd: '2026-10-28 10:30:00',
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    status: 'completed',
    videoBackend: 'jitsi',
    roomName: null,
    cancelReason: null,
    encounterRef: s.encounterRef,
    createdAt: '2026-10-20 09:00:00',
    updatedAt: s.endedAt,
  });
  const actors = [s.patient, ...(s.startedAt ? [s.doctor] : [])];
  for (const [i, actor] of actors.entries())
    await appendRow('AuditLog', {
      id: `${id}${i}`,
      tenantId: tenant,
      entityType: 'VirtualSession',
      entityId: id,
      action: 'participant.joined',
      actorRef: actor,
      actorDisplay: null,
      payload: null,
      occurredAt: '2026-10-28 10:00:30',
    });
}

/** The legacy id of a migrated ended session of the tenant: the session a legacy bill is appended for. */
async function firstEndedLegacyId(tenant: string): Promise<string> {
  const { rows } = await target.client.query<{ legacy_id: string }>(
    "select legacy_id from virtual_sessions where tenant_id = $1 and legacy_id is not null and status = 'ended' order by legacy_id::bigint limit 1",
    [tenant],
  );
  return rows[0]!.legacy_id;
}

/** A legacy bill's carried units (null: not carried) and its reject: reason, detail, and the raw row's `field`. */
async function rejectOf(tenant: string, billingId: string, field = 'units') {
  const { rows } = await target.client.query<{ units: number | null; reason: string | null; detail: string | null; raw: string | null }>(
    `select (select units from billing_events where tenant_id = $1 and legacy_id = $2) as units, r.reason, r.detail, r.raw ->> $3 as raw
       from (select 1) one left join vc_migration.rejects r on r.tenant_id = $1 and r.legacy_key = 'BillingEvent:' || $2`,
    [tenant, billingId, field],
  );
  return rows[0];
}

beforeAll(async () => {
  [target, jitsi, fhir] = await Promise.all([
    openCsvTarget('vc-s2-shadow-', { tenants: 6, sessions: 30, auditPerSession: 1, seed: 61, asOf: AS_OF }),
    startJitsiStandIn(),
    startFhirStandIn(),
  ]);
  env = { ...target.env, VC_LOG_LEVEL: 'silent', VC_FHIR_BASE_URL: fhir.url, VC_MODE: 'shadow' };
  for (const tenant of ['acme', 'initech', 'umbrella', 'hooli', 'stark']) {
    const s1 = await runInProcess(['phase', 's1', '--tenant', tenant, '--as-of', AS_OF, '--max-reject-rate', '0.5'], env);
    expect(s1.code, s1.error).toBe(0);
    await target.client.query('update tenant_virtual_care_configs set jitsi_server_url = $1 where tenant_id = $2', [jitsi.url, tenant]);
  }
}, 300_000);

afterAll(async () => {
  await Promise.all([target?.close(), jitsi?.close(), fhir?.close()]);
});

describe('S2 over a shadow-mode parallel run', { timeout: 180_000 }, () => {
  it('a parallel pair whose legacy twin has an Encounter is not an encounter mismatch: shadow mode creates none by design', async () => {
    const who = { patient: 'Patient/p-r6-shadow', doctor: 'Practitioner/d-r6-shadow' };
    const id = await shadowSession('acme', { ...who, startedAt: '2026-10-28T10:01:00Z', endedAt: '2026-10-28T10:21:00Z', billed: true });
    await legacyTwin('acme', '990001', id, { ...who, startedAt: '2026-10-28 10:01:00', endedAt: '2026-10-28 10:21:00', encounterRef: 'Encounter/e-r6-legacy' });
    await appendRow('BillingEvent', {
      id: '990001',
      tenantId: 'acme',
      sessionId: '990001',
      code: '99213',
      modifier: '95',
      placeOfService: '02',
      units: '1',
      occurredAt: '2026-10-28 10:21:00',
      status: 'sent',
    });

    const result = await s2('acme');
    const parallelRun = result.steps.find((s) => s.id === '2.3')?.facts.parallelRun as {
      decision: string;
      reasons: string[];
      counts: { pairs: { parallel: number } };
    };
    expect(parallelRun.counts.pairs.parallel).toBe(1);
    expect(parallelRun.reasons, 'the only parallel pair differs in nothing the new service controls in shadow mode').toEqual([]);
    expect(result.code, result.error).toBe(0);
  });

  it('a native session ended before it started (no bill, by the billing rule) is no billing gap in 2.4', async () => {
    const who = { patient: 'Patient/p-r6-waited', doctor: 'Practitioner/d-r6-waited' };
    const id = await shadowSession('umbrella', { ...who, startedAt: null, endedAt: '2026-10-28T10:20:00Z', billed: false });
    await legacyTwin('umbrella', '990002', id, { ...who, startedAt: null, endedAt: '2026-10-28 10:20:00', encounterRef: null });

    const result = await s2('umbrella');
    expect(
      result.steps.find((s) => s.id === '2.3'),
      result.error,
    ).toMatchObject({ status: 'done' });
    expect(result.error ?? '', 'a session that delivered no service has no bill to miss').not.toMatch(/billing session:/);
    expect(result.code, result.error).toBe(0);
    expect(result.steps.find((s) => s.id === '2.4')?.facts).toMatchObject({ billing: { notStarted: 1, missing: 0 } });
  });

  it('a legacy bill with units out of int range is one reject, and the step goes on', async () => {
    const sessionId = await firstEndedLegacyId('initech');
    await appendRow('BillingEvent', {
      id: '990003',
      tenantId: 'initech',
      sessionId,
      code: '99213',
      modifier: '95',
      placeOfService: '02',
      units: '3000000000',
      occurredAt: '2026-10-01 10:25:00',
      status: 'sent',
    });

    const result = await s2('initech', '--min-parallel-pairs', '0');
    expect(result.error ?? '').not.toMatch(/out of range|2\.4/);
    expect(result.code, result.error).toBe(0);
    const { rows } = await target.client.query<{ units: number | null; reason: string | null }>(
      `select (select units from billing_events where tenant_id = 'initech' and legacy_id = '990003') as units,
              (select reason from vc_migration.rejects where tenant_id = 'initech' and legacy_key = 'BillingEvent:990003') as reason`,
    );
    expect(rows[0]!.units !== null || rows[0]!.reason !== null, 'carried or rejected, never neither').toBe(true);
    expect(await rejectOf('initech', '990003')).toEqual({ units: null, reason: 'invalid_value', detail: expect.stringMatching(/^units /), raw: '3000000000' });
  });
  it('legacy bills of 0 and -2 units are not silently billed as 1 unit', async () => {
    const sessionId = await firstEndedLegacyId('hooli');
    for (const [id, units] of [
      ['990004', '0'],
      ['990005', '-2'],
    ] as const)
      await appendRow('BillingEvent', {
        id,
        tenantId: 'hooli',
        sessionId,
        code: '99213',
        modifier: '95',
        placeOfService: '02',
        units,
        occurredAt: '2026-10-01 10:25:00',
        status: 'paid',
      });

    const result = await s2('hooli', '--min-parallel-pairs', '0');
    expect(result.code, result.error).toBe(0);
    const warned = result.steps.find((s) => s.id === '2.4')!.warnings;
    const { rows } = await target.client.query<{ legacy_id: string; units: number | null; rejected: boolean }>(
      `select v.legacy_id, b.units, exists (select 1 from vc_migration.rejects r where r.tenant_id = 'hooli' and r.legacy_key = 'BillingEvent:' || v.legacy_id) as rejected
         from (values ('990004', 0), ('990005', -2)) as v(legacy_id, legacy_units)
         left join billing_events b on b.tenant_id = 'hooli' and b.legacy_id = v.legacy_id order by v.legacy_id`,
    );
    const silentlyChanged = rows.filter((r) => !r.rejected && r.units !== null && r.units !== { '990004': 0, '990005': -2 }[r.legacy_id] && warned === 0);
    expect(silentlyChanged, 'units changed with neither a reject nor a warning').toEqual([]);
    expect(await rejectOf('hooli', '990004')).toEqual({ units: null, reason: 'invalid_value', detail: expect.stringMatching(/^units /), raw: '0' });
    expect(await rejectOf('hooli', '990005')).toEqual({ units: null, reason: 'invalid_value', detail: expect.stringMatching(/^units /), raw: '-2' });
  });
  it('a legacy bill with no place of service is not silently given place of service 02', async () => {
    const sessionId = await firstEndedLegacyId('stark');
    await appendRow('BillingEvent', {
      id: '990006',
      tenantId: 'stark',
      sessionId,
      code: '99213',
      modifier: '95',
      placeOfService: null,
      units: '1',
      occurredAt: '2026-10-01 10:25:00',
      status: 'paid',
    });

    const result = await s2('stark', '--min-parallel-pairs', '0');
    expect(result.code, result.error).toBe(0);
    const warned = result.steps.find((s) => s.id === '2.4')!.warnings;
    const { rows } = await target.client.query<{ pos: string | null; rejected: boolean }>(
      `select (select place_of_service from billing_events where tenant_id = 'stark' and legacy_id = '990006') as pos,
              exists (select 1 from vc_migration.rejects where tenant_id = 'stark' and legacy_key = 'BillingEvent:990006') as rejected`,
    );
    expect({ ...rows[0], warned }, 'a place of service legacy never recorded, with neither a reject nor a warning').not.toEqual({
      pos: '02',
      rejected: false,
      warned: 0,
    });
    expect(await rejectOf('stark', '990006', 'placeOfService')).toEqual({
      units: null,
      reason: 'invalid_value',
      detail: expect.stringMatching(/^placeOfService /),
      raw: null,
    });
  });
});
