import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { createKongGateway, normalizeKongConfig, startKongAdminStandIn, type KongAdminStandIn, type KongConfig } from '@vc/integrations/kong';
import { createDatabase, queryRows, type DatabaseHandle } from '@vc/schema';
import { createTestDatabase, type TestDatabase } from '@vc/schema/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lockTenantPhase } from '../../engine/lock';
import { FIXTURE, legacyQuery, loadLegacyDatabases, type LegacyDatabases } from '../../validate/testing/harness';
import { runInProcess, type Run } from './testing/in-process-cli';
import { startKongProxy, type KongProxy } from './testing/kong-proxy';
import { PAST_THE_GATES } from '../../testing/past-the-gates';

/**
 * S4 safety: dry runs that write nothing, gateway-wide routing vs per-tenant records (decommission and
 * rollback), legacy writes around the cutover (4.3, rollback resetting 4.1), participants folded across
 * AuditLog batches, billing carried for delta sessions, one reject per bad row across phases. The CLI runs
 * in process (exit codes from its ExitError); Kong is the Admin API stand-in behind a loopback proxy that
 * can fail writes or run a hook when the first write arrives (a legacy write during the apply).
 */
const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      routes: [{ name: 'legacy-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], strip_path: false }],
    },
  ],
};

let pg: TestDatabase;
let handle: DatabaseHandle;
let legacy: LegacyDatabases;
let kong: KongAdminStandIn;
let proxy: KongProxy;
let fhir: FhirStandIn;
let work: string;
let s1RejectedId: string;
const asOf = FIXTURE.asOf.toISOString();

const cli = (...args: string[]) => runInProcess(args);
const s4 = (tenant: string, ...extra: string[]) =>
  cli(
    'phase',
    's4',
    '--tenant',
    tenant,
    '--as-of',
    asOf,
    '--service-upstream',
    'http://virtual-care.internal:8080',
    '--max-reject-rate',
    '0.5',
    '--json',
    ...PAST_THE_GATES,
    ...extra,
  );
const json = <T = Record<string, unknown>>(run: Run) => JSON.parse(run.stdout) as T;

const routingNow = () => normalizeKongConfig(kong.current());
const cutovers = () =>
  queryRows<{ tenant_id: string; action: string; actor: string | null }>(
    handle.db,
    sql`select tenant_id, action, actor from vc_migration.cutovers order by created_at, id`,
  );
const checkpoints = (tenant: string) =>
  queryRows<{ step_id: string; status: string; cursor: unknown }>(
    handle.db,
    sql`select step_id, status, cursor from vc_migration.step_checkpoints where tenant_id = ${tenant} and phase = 's4' order by step_id`,
  );
const sessionOf = async (legacyId: string) =>
  (
    await queryRows<{ id: string; status: string }>(
      handle.db,
      sql`select id, status from virtual_sessions where tenant_id = 'acme' and legacy_id = ${legacyId}`,
    )
  )[0];

async function insertSession(
  id: number,
  status: string,
  times: { start: string; end: string; created: string; started?: string; ended?: string },
): Promise<void> {
  await legacyQuery(
    legacy.legacyUrl,
    `insert into VirtualSession (id, tenantId, patientRef, practitionerRef, scheduledStart, scheduledEnd, startedAt, endedAt, status, videoBackend, createdAt, updatedAt)
     values (?, 'acme', ?, 'Practitioner/d-safe', ?, ?, ?, ?, ?, 'jitsi', ?, ?)`,
    [id, `Patient/p-safe-${id}`, times.start, times.end, times.started ?? null, times.ended ?? null, status, times.created, times.created],
  );
}

beforeAll(async () => {
  [pg, legacy, kong, fhir, work] = await Promise.all([
    createTestDatabase(),
    loadLegacyDatabases('s4safe'),
    startKongAdminStandIn({ initial: LEGACY_ROUTING }),
    startFhirStandIn(),
    mkdtemp(join(tmpdir(), 'vc-s4safe-')),
  ]);
  proxy = await startKongProxy(kong.url);
  handle = await createDatabase(pg.url, { max: 3 });
  const env = {
    VC_LOG_LEVEL: 'silent',
    VC_DATABASE_URL: pg.url,
    VC_LEGACY_DATABASE_URL: legacy.legacyUrl,
    VC_PORTAL_DATABASE_URL: legacy.portalUrl,
    VC_LEGACY_MASTER_KEY: legacy.expected.legacyMasterKey,
    VC_KONG_ADMIN_URL: proxy.url,
    VC_FHIR_BASE_URL: fhir.url,
    VC_KMS: `local:${join(work, 'kms.json')}`,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const s1 = await cli('phase', 's1', '--tenant', 'acme', '--as-of', asOf, '--max-reject-rate', '0.5');
  expect(s1.code, s1.error).toBe(0);

  // A session entered late that already took place: the patient's join and leave three events apart (so
  // --batch-size 2 splits them), the practitioner in between, a leave of someone who never joined, a bill.
  await insertSession(900010, 'completed', {
    start: '2026-10-31 10:00:00',
    end: '2026-10-31 10:30:00',
    started: '2026-10-31 10:01:00',
    ended: '2026-10-31 10:25:00',
    created: '2026-11-02 08:00:00',
  });
  const events: Array<[string, string, string]> = [
    ['Patient/p-safe-900010', 'participant.joined', '10:02:00'],
    ['Practitioner/d-safe', 'participant.joined', '10:01:00'],
    ['Practitioner/d-safe', 'participant.left', '10:24:00'],
    ['Patient/p-safe-900010', 'participant.left', '10:25:00'],
    ['Patient/p-safe-ghost', 'participant.left', '10:26:00'],
  ];
  for (const [actor, action, at] of events) {
    await legacyQuery(
      legacy.legacyUrl,
      `insert into AuditLog (tenantId, entityType, entityId, action, actorRef, occurredAt) values ('acme', 'VirtualSession', '900010', ?, ?, ?)`,
      [action, actor, `2026-10-31 ${at}`],
    );
  }
  await legacyQuery(
    legacy.legacyUrl,
    `insert into BillingEvent (tenantId, sessionId, code, modifier, placeOfService, units, occurredAt, status) values ('acme', 900010, '99213', '95', '02', 1, '2026-10-31 10:25:00', 'sent')`,
  );
  // A row S1 rejected, edited in legacy since (still bad): S4 reads it again.
  const [rejected] = await queryRows<{ id: string }>(
    handle.db,
    sql`select raw->>'id' as id from vc_migration.rejects where tenant_id = 'acme' and phase = 's1' and step_id = '1.1' and reason <> 'duplicate_legacy_id' and raw->>'id' ~ '^[0-9]+$' order by 1 limit 1`,
  );
  s1RejectedId = rejected!.id;
  await legacyQuery(legacy.legacyUrl, "update VirtualSession set updatedAt = '2026-11-02 09:00:00' where id = ?", [Number(s1RejectedId)]);
}, 300_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await handle?.close();
  await Promise.all([pg?.drop(), legacy?.drop(), kong?.close(), proxy?.close(), fhir?.close(), work ? rm(work, { recursive: true, force: true }) : undefined]);
});

describe('phase s4 safety', { timeout: 180_000 }, () => {
  let appliedRouting: KongConfig;

  type StepCounts = { id: string; read: number; written: number; rejected: number; warnings: number; deferred: number };
  const counts41 = (run: Run) => {
    const step = json<{ steps: StepCounts[] }>(run).steps.find((s) => s.id === '4.1')!;
    return { read: step.read, written: step.written, rejected: step.rejected, warnings: step.warnings, deferred: step.deferred };
  };
  let dry41: ReturnType<typeof counts41>;

  it('a dry run refolds through the same staging as the real run, rolled back: nothing staged or written stays', async () => {
    const staged = () => queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from vc_migration.participant_refolds`);
    const participants = () => queryRows<{ n: number }>(handle.db, sql`select count(*)::int as n from session_participants where tenant_id = 'acme'`);
    const before = { participants: await participants(), checkpoints: await checkpoints('acme') };
    const dry = await s4('acme', '--batch-size', '2', '--dry-run');
    expect(dry.code, dry.error).toBe(0);
    dry41 = counts41(dry);
    // The late session's two participants are among what the dry run says it would write.
    expect(dry41.written).toBeGreaterThanOrEqual(3);
    expect(await staged()).toEqual([{ n: 0 }]);
    expect(await participants()).toEqual(before.participants);
    expect(await checkpoints('acme')).toEqual(before.checkpoints);
    expect(await sessionOf('900010')).toBeUndefined();
  });

  it('the cutover run: legacy written while Kong applies is caught by 4.3, billing carried, a leave folded into its join from an earlier batch', async () => {
    // Legacy books a session after 4.1 read it, while the routing change is going in.
    proxy.onFirstWrite = () => insertSession(900020, 'scheduled', { start: '2026-12-01 10:00:00', end: '2026-12-01 10:30:00', created: '2026-11-02 10:00:00' });
    const run = await s4('acme', '--batch-size', '2');
    expect(run.code, run.error).toBe(0);
    appliedRouting = routingNow();
    expect(json<{ steps: Array<{ id: string; status: string }> }>(run).steps.map((s) => [s.id, s.status])).toEqual([
      ['4.1', 'done'],
      ['4.2', 'done'],
      ['4.3', 'done'],
    ]);
    // The dry run before it reported what this run did.
    expect(counts41(run)).toEqual(dry41);
    expect(await sessionOf('900020')).toMatchObject({ status: 'scheduled' });
    expect(appliedRouting.services.map((s) => s.name)).toContain('virtual-care-service');
  });

  it('folds a leave whose join was in an earlier AuditLog batch, and rejects a leave-only participant once', async () => {
    const session = await sessionOf('900010');
    const participants = await queryRows<{ participant_ref: string; join_count: number; last_left_at: Date | string | null }>(
      handle.db,
      sql`select participant_ref, join_count, last_left_at from session_participants where session_id = ${session!.id} order by participant_ref`,
    );
    expect(participants.map((p) => [p.participant_ref, p.join_count, p.last_left_at === null ? null : new Date(p.last_left_at).toISOString()])).toEqual([
      ['Patient/p-safe-900010', 1, '2026-10-31T10:25:00.000Z'],
      ['Practitioner/d-safe', 1, '2026-10-31T10:24:00.000Z'],
    ]);
    const ghosts = await queryRows<{ n: number }>(
      handle.db,
      sql`select count(*)::int as n from vc_migration.rejects where tenant_id = 'acme' and reason = 'left_without_join' and raw->>'entityId' = '900010'`,
    );
    expect(ghosts[0]!.n).toBe(1);
  });

  it('carries the legacy BillingEvent of a delta-synced session over', async () => {
    const session = await sessionOf('900010');
    const bills = await queryRows<{ code: string; status: string }>(
      handle.db,
      sql`select code, status from billing_events where tenant_id = 'acme' and session_id = ${session!.id}`,
    );
    expect(bills).toEqual([{ code: '99213', status: 'published' }]);
  });

  it('does not reject again a row S1 already rejected', async () => {
    const rows = await queryRows<{ phase: string }>(
      handle.db,
      sql`select phase from vc_migration.rejects where tenant_id = 'acme' and raw->>'id' = ${s1RejectedId} and (raw -> 'patientRef') is not null`,
    );
    expect(rows).toEqual([{ phase: 's1' }]);
  });

  it('a re-run of the delta syncs adds nothing: no billing event, participant, session version or reject', async () => {
    const state = async () => ({
      bills: await queryRows(handle.db, sql`select legacy_id, session_id from billing_events where tenant_id = 'acme' order by legacy_id`),
      participants: await queryRows(
        handle.db,
        sql`select session_id, participant_ref, join_count, last_left_at from session_participants where tenant_id = 'acme' order by 1, 2`,
      ),
      sessions: await queryRows(handle.db, sql`select legacy_id, version from virtual_sessions where tenant_id = 'acme' order by legacy_id`),
      rejects: await queryRows(handle.db, sql`select phase, legacy_key, reason from vc_migration.rejects where tenant_id = 'acme' order by 1, 2, 3`),
    });
    const before = await state();
    const again = await s4('acme', '--batch-size', '2', '--restart-step', '4.1');
    expect(again.code, again.error).toBe(0);
    const after = await state();
    expect({ ...after, rejects: [] }).toEqual({ ...before, rejects: [] });
    // --restart-step makes 4.1 forget its rejects (engine rule); none may be added.
    expect(before.rejects).toEqual(expect.arrayContaining(after.rejects));
  });

  it('decommission --dry-run refuses as the real run does, or prints would_decommission, and records nothing', async () => {
    const before = await cutovers();
    const refused = await cli('phase', 's4', 'decommission', '--tenant', 'acme', '--dry-run');
    expect(refused.code).toBe(2);
    expect(refused.error).toMatch(/inside the 2-week stability window until \d{4}-/);
    const forced = await cli('phase', 's4', 'decommission', '--tenant', 'acme', '--force', '--reason', 'CHG-1 early', '--dry-run', '--json');
    expect(forced.code, forced.error).toBe(0);
    expect(json(forced)).toMatchObject({ tenant: 'acme', status: 'would_decommission', forced: true });
    expect(await cutovers()).toEqual(before);
  });

  it('decommission is refused (exit 2) while the routing in force is not the one the cutover applied', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    await gateway.apply(LEGACY_ROUTING);
    const before = await cutovers();
    const refused = await cli('phase', 's4', 'decommission', '--tenant', 'acme', '--force', '--reason', 'CHG-2 early');
    expect(refused.code).toBe(2);
    expect(refused.error).toContain('is not the one its cutover applied');
    expect(await cutovers()).toEqual(before);
    await gateway.apply(appliedRouting);
    expect(routingNow()).toEqual(appliedRouting);
  });

  it('rollback of one tenant is refused while another tenant is cut over on the same routing; --all-tenants rolls both back once, under their locks', async () => {
    // initech cut over second: its snapshot already held the cut-over routing.
    const routing = JSON.stringify(appliedRouting);
    await queryRows(
      handle.db,
      sql`insert into vc_migration.cutovers (tenant_id, action, previous_routing, applied_routing) values ('initech', 'cutover', ${routing}::jsonb, ${routing}::jsonb) returning id`,
    );
    const before = await cutovers();
    const refused = await cli('rollback', 's4', '--tenant', 'acme');
    expect(refused.code).toBe(2);
    expect(refused.error).toContain('the cutover of tenant(s) initech is in force on the same routing');
    expect(routingNow()).toEqual(appliedRouting);
    expect(await cutovers()).toEqual(before);

    const lock = await lockTenantPhase(handle, 'initech', 's4');
    try {
      const locked = await cli('rollback', 's4', '--all-tenants');
      expect(locked.code).toBe(1);
      expect(locked.error).toContain('another migrator run holds the lock of tenant initech phase s4');
    } finally {
      await lock.release();
    }
    expect(routingNow()).toEqual(appliedRouting);

    const all = await cli('rollback', 's4', '--tenant', 'acme', '--all-tenants', '--json');
    expect(all.code, all.error).toBe(0);
    expect(json(all)).toMatchObject({ status: 'rolled_back', tenants: ['acme', 'initech'] });
    expect(routingNow()).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    const rollbacks = (await cutovers()).slice(before.length);
    expect(rollbacks.map((r) => [r.tenant_id, r.action])).toEqual(
      expect.arrayContaining([
        ['acme', 'rollback'],
        ['initech', 'rollback'],
      ]),
    );
    expect(rollbacks).toHaveLength(2);
    expect(rollbacks.every((r) => typeof r.actor === 'string' && r.actor.length > 0)).toBe(true);
    expect(await checkpoints('acme')).toEqual([]);
  });

  it('after a rollback, a re-cutover runs the delta sync again and loads what legacy took meanwhile', async () => {
    await insertSession(900030, 'scheduled', { start: '2026-12-02 10:00:00', end: '2026-12-02 10:30:00', created: '2026-11-03 10:00:00' });
    const run = await s4('acme');
    expect(run.code, run.error).toBe(0);
    const steps = json<{ steps: Array<{ id: string; status: string; read: number }> }>(run).steps;
    expect(steps.find((s) => s.id === '4.1')).toMatchObject({ status: 'done' });
    expect(steps.find((s) => s.id === '4.1')!.read).toBeGreaterThan(0);
    expect(await sessionOf('900030')).toMatchObject({ status: 'scheduled' });
    expect(routingNow()).toEqual(appliedRouting);
  });

  it('phase s4 --dry-run after a failed apply (snapshot and plan saved) applies and records nothing', async () => {
    const back = await cli('rollback', 's4', '--tenant', 'acme');
    expect(back.code, back.error).toBe(0);
    expect(routingNow()).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    proxy.failWrites = true;
    try {
      const failed = await s4('acme');
      expect(failed.code).toBe(1);
    } finally {
      proxy.failWrites = false;
    }
    expect(routingNow()).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    const saved = { cutovers: await cutovers(), checkpoints: await checkpoints('acme') };
    expect(saved.checkpoints.find((c) => c.step_id === '4.2')).toMatchObject({ status: 'failed', cursor: { planned: expect.anything() } });
    const writesBefore = kong.calls.filter((c) => c.method !== 'GET').length;

    const dry = await s4('acme', '--dry-run');
    expect(dry.code, dry.error).toBe(0);
    expect(kong.calls.filter((c) => c.method !== 'GET').length).toBe(writesBefore);
    expect(routingNow()).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    expect(await cutovers()).toEqual(saved.cutovers);
    expect(await checkpoints('acme')).toEqual(saved.checkpoints);

    const real = await s4('acme');
    expect(real.code, real.error).toBe(0);
    expect(routingNow()).toEqual(appliedRouting);
  });

  it('4.3 fails (exit 1, nothing synced) while Kong does not serve the cut-over routing, and passes once it does', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    await gateway.apply(LEGACY_ROUTING);
    await insertSession(900040, 'scheduled', { start: '2026-12-03 10:00:00', end: '2026-12-03 10:30:00', created: '2026-11-04 10:00:00' });
    const refused = await s4('acme', '--restart-step', '4.3');
    expect(refused.code).toBe(1);
    expect(json<{ errors: Array<{ step: string; message: string }> }>(refused).errors).toEqual([
      { tenant: 'acme', step: '4.3', message: expect.stringContaining('the cut-over routing is not in force') },
    ]);
    expect(await sessionOf('900040')).toBeUndefined();
    await gateway.apply(appliedRouting);
    const again = await s4('acme');
    expect(again.code, again.error).toBe(0);
    expect(await sessionOf('900040')).toMatchObject({ status: 'scheduled' });
  });
  it('a cutover of another tenant while a rollback is changing the routing is refused (exit 1), not left recorded in force on the legacy routing', async () => {
    // A second operator cuts initech over while the first rolls acme back: the cutover runs when the rollback's
    // first Kong write arrives, after the rollback read which cutovers are in force and before it restored legacy.
    const s1 = await cli('phase', 's1', '--tenant', 'initech', '--as-of', asOf, '--max-reject-rate', '0.5');
    expect(s1.code, s1.error).toBe(0);
    let during: Run | undefined;
    proxy.onFirstWrite = async () => {
      during = await s4('initech');
    };
    const back = await cli('rollback', 's4', '--tenant', 'acme', '--json');
    expect(back.code, back.error).toBe(0);
    expect(routingNow()).toEqual(normalizeKongConfig(LEGACY_ROUTING));
    const initech = (await cutovers()).filter((r) => r.tenant_id === 'initech' && r.action !== 'decommission');
    expect({ code: during?.code, latest: initech.at(-1)?.action }, during?.error).toEqual({ code: 1, latest: 'rollback' });
    expect(during?.error).toContain('is changing the routing of');
  });
});
