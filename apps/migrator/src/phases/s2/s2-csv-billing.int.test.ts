import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { startKongAdminStandIn, type KongAdminStandIn } from '@vc/integrations/kong';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_TABLES } from '../../legacy/tables';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import { PAST_THE_GATES } from '../../testing/past-the-gates';
import { runInProcess } from '../s4/testing/in-process-cli';
import { LEGACY_ROUTING } from '../s4/testing/legacy-rows';

/**
 * S2 2.4's billing carry-over (and S4's, the same code) on a CSV export that carries one billing id twice in
 * different batches (docs/design.md §5, Billing): the first copy is the bill, carried; the later one is a
 * `duplicate_legacy_id` reject with its raw row and `file:line`, as a twin in one batch is, never a row neither
 * carried nor rejected. The same source row read again (`--restart-step`, a resumed pass, S4's delta sync) writes
 * and rejects nothing.
 */
const AS_OF = '2026-11-01T00:00:00Z';
const LATER = '2026-12-01T00:00:00Z';

let target: CsvTarget;
let jitsi: JitsiStandIn, fhir: FhirStandIn, kong: KongAdminStandIn;
let env: Record<string, string>;
let billingCsv: string;

type Row = Record<string, string>;
const HEADER = LEGACY_TABLES.BillingEvent.columns;

async function billingRows(): Promise<Row[]> {
  const [, ...lines] = (await readFile(billingCsv, 'utf8')).trimEnd().split('\n');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [HEADER[i]!, v])));
}

/** Appends a copy of bill `id` with other values (a twin the export glitch made); returns it and its `file:line`. */
async function appendTwin(id: string, values: Row): Promise<{ row: Row; location: string }> {
  const rows = await billingRows();
  const row = { ...rows.find((r) => r.id === id)!, ...values };
  await appendFile(billingCsv, `${HEADER.map((c) => row[c]).join(',')}\n`);
  return { row, location: `BillingEvent.csv:${rows.length + 2}` };
}

const run = async (...args: string[]) => {
  const result = await runInProcess([...args, '--tenant', 'acme', '--max-reject-rate', '1', '--batch-size', '5', '--json'], env);
  expect(result.code, result.error).toBe(0);
  return (JSON.parse(result.stdout) as { steps: Array<{ id: string; status: string; read: number; written: number; rejected: number }> }).steps;
};
const s2 = (...extra: string[]) =>
  run('phase', 's2', '--as-of', AS_OF, '--window', '14d', '--report-dir', join(target.work, 'reports'), '--min-parallel-pairs', '0', ...extra);
const s4 = () => run('phase', 's4', '--as-of', LATER, '--service-upstream', 'http://vc.internal:8080', ...PAST_THE_GATES);

const carried = async () =>
  (
    await target.client.query<{ legacy_id: string; code: string; units: number }>(
      "select legacy_id, code, units from billing_events where tenant_id = 'acme' and legacy_id is not null order by legacy_id::int",
    )
  ).rows;
const billingRejects = async () =>
  (
    await target.client.query<{ phase: string; step_id: string; legacy_key: string; reason: string; detail: string; source: string; raw: Row }>(
      "select phase, step_id, legacy_key, reason, detail, source, raw from vc_migration.rejects where tenant_id = 'acme' and legacy_key like 'BillingEvent:%' order by phase, step_id, legacy_key, source",
    )
  ).rows;

let twin: { row: Row; location: string };
let first: Row;

beforeAll(async () => {
  [target, jitsi, fhir, kong] = await Promise.all([
    openCsvTarget('vc-s2-billing-', { tenants: 1, sessions: 40, auditPerSession: 1, seed: 31, asOf: AS_OF }),
    startJitsiStandIn(),
    startFhirStandIn(),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
  ]);
  env = { ...target.env, VC_LOG_LEVEL: 'silent', VC_FHIR_BASE_URL: fhir.url, VC_KONG_ADMIN_URL: kong.url, VC_MODE: 'shadow' };
  billingCsv = join(target.env.VC_LEGACY_EXPORT_DIR!, 'BillingEvent.csv');
  const s1 = await runInProcess(['phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5'], env);
  expect(s1.code, s1.error).toBe(0);
  await target.client.query("update tenant_virtual_care_configs set jitsi_server_url = $1 where tenant_id = 'acme'", [jitsi.url]);
  // The export carries bill 1 (record 1, batch 1 of 5 rows) again as its last record, with another code.
  first = (await billingRows())[0]!;
  expect(first.id).toBe('1');
  twin = await appendTwin('1', { code: '99215', units: '2' });
}, 300_000);

afterAll(async () => {
  await Promise.all([target?.close(), jitsi?.close(), fhir?.close(), kong?.close()]);
});

describe('billing carry-over on a CSV export with a billing id twice', { timeout: 180_000 }, () => {
  it('across a batch boundary: the first copy is carried, the later one is a duplicate_legacy_id reject with its raw row and file:line', async () => {
    const legacy = await billingRows();
    const steps = await s2();
    // 2.4's counts hold its Encounter backfill too: its one reject is the twin. Every other bill is carried.
    expect(steps.find((s) => s.id === '2.4')).toMatchObject({ status: 'done', rejected: 1 });
    const bills = await carried();
    expect(bills.map((b) => b.legacy_id)).toEqual([...new Set(legacy.map((r) => r.id))]);
    expect(bills[0]).toEqual({ legacy_id: '1', code: first.code, units: Number(first.units) });
    const rejects = await billingRejects();
    expect(rejects).toEqual([
      {
        phase: 's2',
        step_id: '2.4',
        legacy_key: 'BillingEvent:1',
        reason: 'duplicate_legacy_id',
        detail: 'another BillingEvent row with the same id comes first in the export (the id twice); that row is the billing event carried over',
        source: twin.location,
        raw: twin.row,
      },
    ]);
  });

  it('read again (--restart-step, then a pass resumed past the first copy) it carries nothing more and keeps one reject', async () => {
    const before = { bills: await carried(), rejects: await billingRejects() };
    const restarted = (await s2('--restart-step', '2.4')).find((s) => s.id === '2.4')!;
    expect(restarted).toMatchObject({ written: 0, rejected: 1 });
    expect({ bills: await carried(), rejects: await billingRejects() }).toEqual(before);

    // A pass killed after its first batch (the first copy committed, the twin not read yet): its checkpoint is
    // running after record 5 and the twin has no reject yet. The resumed pass must still know record 1 is the bill.
    await target.client.query(
      `update vc_migration.step_checkpoints set status = 'running', cursor = '{"billingAfter": "5"}', facts = '{}'
        where tenant_id = 'acme' and phase = 's2' and step_id = '2.4'`,
    );
    await target.client.query("delete from vc_migration.rejects where tenant_id = 'acme' and phase = 's2' and step_id = '2.4'");
    const resumed = (await s2()).find((s) => s.id === '2.4')!;
    expect(resumed.written).toBe(restarted.written);
    expect({ bills: await carried(), rejects: await billingRejects() }).toEqual(before);
  });

  it("S4's delta sync carries the same way: a twin added since is rejected once (4.1), S2's reject is not repeated, nothing is carried twice", async () => {
    const before = { bills: await carried(), rejects: await billingRejects() };
    const third = (await billingRows())[2]!;
    const added = await appendTwin(third.id!, { status: 'void' });
    const steps = await s4();
    expect(steps.find((s) => s.id === '4.1')).toMatchObject({ rejected: 1 });
    expect(steps.find((s) => s.id === '4.3')).toMatchObject({ rejected: 0 });
    expect(await carried()).toEqual(before.bills);
    expect(await billingRejects()).toEqual([
      ...before.rejects,
      expect.objectContaining({
        phase: 's4',
        step_id: '4.1',
        legacy_key: `BillingEvent:${third.id}`,
        reason: 'duplicate_legacy_id',
        source: added.location,
        raw: added.row,
      }),
    ]);
  });
});
