import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import { runMigrator, runMigratorJson } from '../../testing/run-cli';

/**
 * Before S2 the tenant admin points the migrated config at the tenant's new Jitsi deployment with
 * `PUT /config` (plan 2.1; README, runbooks/s2). The runbooks then send the operator back to S1 for legacy data
 * defects (`--restart-step 1.1`, which also re-runs the later steps; `--restart-step 1.3` for configs), and
 * step 1.3's upsert (`on conflict (tenant_id) do update set …` every column) writes legacy's Jitsi URL, app id,
 * secret, branding and enabled over the admin's config — silently, with legacy's older updated_at — although
 * validate itself treats a config the service changed after migration as the service's (docs/design.md,
 * `changedSinceMigration`). Real PostgreSQL, generated CSV export, the CLI's build; the admin's PUT is applied
 * as the service writes it (new values, version + 1, updated_at now). The same holds for the sessions: what S2 2.4
 * or the service wrote on a session since S1 loaded it survives S1's re-run.
 */
const AS_OF = '2026-11-01T00:00:00Z';
let target: CsvTarget;

const s1 = (...extra: string[]) => ['phase', 's1', '--tenant', 'acme', '--as-of', AS_OF, '--max-reject-rate', '0.5', ...extra];

beforeAll(async () => {
  target = await openCsvTarget('vc-review4-config-', { tenants: 2, sessions: 30, auditPerSession: 3, seed: 45, asOf: AS_OF });
  const s0 = await runMigrator(['phase', 's0'], target.env);
  expect(s0.code, s0.stderr).toBe(0);
  const first = await runMigrator(s1(), target.env);
  expect(first.code, first.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await target?.close();
});

describe('S1 re-run after later phases or the service wrote the rows', { timeout: 120_000 }, () => {
  it('keeps the Jitsi URL, app id and branding the admin PUT since the migration', async () => {
    await target.client.query(
      `update tenant_virtual_care_configs
          set jitsi_server_url = 'https://meet.acme-new.example', jitsi_app_id = 'acme-new', branding = '{"displayName":"Acme (new)"}'::jsonb,
              version = version + 1, updated_at = now()
        where tenant_id = 'acme'`,
    );
    const again = await runMigrator(s1('--restart-step', '1.3'), target.env);
    expect(again.code, again.stderr).toBe(0);
    const { rows } = await target.client.query<{ jitsi_server_url: string; jitsi_app_id: string; branding: unknown }>(
      `select jitsi_server_url, jitsi_app_id, branding from tenant_virtual_care_configs where tenant_id = 'acme'`,
    );
    expect(rows[0]).toEqual({ jitsi_server_url: 'https://meet.acme-new.example', jitsi_app_id: 'acme-new', branding: { displayName: 'Acme (new)' } });
  });

  it('keeps the Encounter S2 2.4 backfilled on a migrated ended session when the runbooks send the operator back to --restart-step 1.1', async () => {
    const { rows: picked } = await target.client.query<{ id: string; legacy_id: string }>(
      `select id, legacy_id from virtual_sessions where tenant_id = 'acme' and status = 'ended' and encounter_ref is null order by legacy_id limit 1`,
    );
    const session = picked[0]!;
    // What S2 2.4 records for an Encounter it created (apps/migrator/src/phases/s2/encounter-backfill.ts).
    await target.client.query(`update virtual_sessions set encounter_ref = 'Encounter/backfilled-1' where id = $1`, [session.id]);
    await target.client.query(
      `insert into vc_migration.encounter_backfills (session_id, tenant_id, legacy_id, encounter_ref, created, phase) values ($1, 'acme', $2, 'Encounter/backfilled-1', true, 's2')`,
      [session.id, session.legacy_id],
    );
    const again = await runMigrator(s1('--restart-step', '1.1'), target.env);
    expect(again.code, again.stderr).toBe(0);
    const { rows } = await target.client.query<{ encounter_ref: string | null }>(`select encounter_ref from virtual_sessions where id = $1`, [session.id]);
    expect(rows[0]!.encounter_ref).toBe('Encounter/backfilled-1');
  });

  it('says how many configs it kept as the service has them (warning config_changed_by_service), and writes legacy over its own', async () => {
    const again = await runMigratorJson<{ warnings: Record<string, number>; steps: Array<{ id: string; written: number }> }>(
      [...s1('--restart-step', '1.3'), '--json'],
      target.env,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.warnings.config_changed_by_service).toBe(1);
    expect(again.json.steps.find((s) => s.id === '1.3')?.written).toBe(0);
    // A config still as the migrator wrote it (version 1, legacy's updated_at) takes legacy's values again.
    const { rows: before } = await target.client.query<{ jitsi_server_url: string }>(
      `select jitsi_server_url from tenant_virtual_care_configs where tenant_id = 'acme'`,
    );
    await target.client.query(`update tenant_virtual_care_configs set version = 1, updated_at = '2000-01-01Z' where tenant_id = 'acme'`);
    const mine = await runMigratorJson<{ warnings: Record<string, number> }>([...s1('--restart-step', '1.3'), '--json'], target.env);
    expect(mine.code, mine.stderr).toBe(0);
    expect(mine.json.warnings.config_changed_by_service).toBeUndefined();
    const { rows } = await target.client.query<{ jitsi_server_url: string }>(
      `select jitsi_server_url from tenant_virtual_care_configs where tenant_id = 'acme'`,
    );
    expect(before[0]!.jitsi_server_url).toBe('https://meet.acme-new.example');
    expect(rows[0]!.jitsi_server_url).not.toBe('https://meet.acme-new.example');
  });

  it('keeps a session the service changed since S1 loaded it (updated_at later than legacy), and says so', async () => {
    const { rows: picked } = await target.client.query<{ id: string; ended_at: Date }>(
      `select id, ended_at + interval '7 minutes' as ended_at from virtual_sessions where tenant_id = 'acme' and status = 'ended' and ended_at is not null order by legacy_id desc limit 1`,
    );
    const session = picked[0]!;
    // As the service writes a session (apps/service/src/sessions/repo.ts): its change, version + 1, updated_at now.
    await target.client.query(`update virtual_sessions set ended_at = $2, version = version + 1, updated_at = now() where id = $1`, [
      session.id,
      session.ended_at,
    ]);
    const again = await runMigratorJson<{ warnings: Record<string, number> }>([...s1('--restart-step', '1.1'), '--json'], target.env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.warnings.session_changed_by_service).toBe(1);
    const { rows } = await target.client.query<{ ended_at: Date }>(`select ended_at from virtual_sessions where id = $1`, [session.id]);
    expect(rows[0]!.ended_at).toEqual(session.ended_at);
  });
});
