import type { TenantExpectedCounts } from '@vc/fixtures';
import type pg from 'pg';

/** Test support: what S1 left in the target, in the shape of the generator's expected counts. */
export type S1Counts = Pick<TenantExpectedCounts, 'sessions' | 'participants' | 'config'>;

export type Query = <T>(text: string, params?: unknown[]) => Promise<T[]>;

export function pgQuery(client: pg.Client | pg.Pool): Query {
  return async <T>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as T[];
}

async function rejectsOf(query: Query, tenant: string, step: string): Promise<Record<string, number>> {
  const rows = await query<{ reason: string; n: number }>(
    `select reason, count(*)::int as n from vc_migration.rejects where tenant_id = $1 and phase = 's1' and step_id = $2 group by 1`,
    [tenant, step],
  );
  return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
}

async function checkpointOf(query: Query, tenant: string, step: string): Promise<{ read: number; deferred: number; warnings: Record<string, number> }> {
  const [row] = await query<{ read: number; deferred: number; warnings: Record<string, number> }>(
    `select read, deferred, warnings from vc_migration.step_checkpoints where tenant_id = $1 and phase = 's1' and step_id = $2`,
    [tenant, step],
  );
  return { read: row?.read ?? 0, deferred: row?.deferred ?? 0, warnings: Object.fromEntries(Object.entries(row?.warnings ?? {}).filter(([, n]) => n !== 0)) };
}

export async function s1Counts(query: Query, tenant: string): Promise<S1Counts> {
  const [sessions] = await query<{ ended: number; cancelled: number; total: number }>(
    `select count(*) filter (where status = 'ended')::int as ended, count(*) filter (where status = 'cancelled')::int as cancelled, count(*)::int as total
       from virtual_sessions where tenant_id = $1 and legacy_id is not null`,
    [tenant],
  );
  const [participants] = await query<{ n: number }>(`select count(*)::int as n from session_participants where tenant_id = $1 and source = 'audit_backfill'`, [
    tenant,
  ]);
  const [config] = await query<{ n: number }>(`select count(*)::int as n from tenant_virtual_care_configs where tenant_id = $1`, [tenant]);
  const s11 = await checkpointOf(query, tenant, '1.1');
  const configRejects = await rejectsOf(query, tenant, '1.3');
  return {
    sessions: {
      legacy: s11.read,
      loaded: sessions!.total,
      deferred: s11.deferred,
      rejected: await rejectsOf(query, tenant, '1.1'),
      warnings: s11.warnings,
      byStatus: { ended: sessions!.ended, cancelled: sessions!.cancelled },
    },
    participants: {
      loaded: participants!.n,
      rejectedEvents: await rejectsOf(query, tenant, '1.4'),
      warnings: (await checkpointOf(query, tenant, '1.4')).warnings,
    },
    config: {
      loaded: config!.n === 1,
      ...(Object.keys(configRejects)[0] ? { rejected: Object.keys(configRejects)[0] as 'credential_decrypt_failed' } : {}),
      warnings: (await checkpointOf(query, tenant, '1.3')).warnings,
    },
  };
}

/** The expected counts of one tenant, reduced to what S1 reports (consents belong to s3). */
export function expectedS1(expected: TenantExpectedCounts): S1Counts {
  return { sessions: expected.sessions, participants: expected.participants, config: expected.config };
}

/**
 * Everything S1 wrote, minus what differs between two correct runs (KMS ciphertext carries a random
 * nonce; timestamps of bookkeeping), sorted: two runs are equivalent exactly when their snapshots are equal.
 */
export async function s1Snapshot(query: Query): Promise<Record<string, unknown[]>> {
  return {
    sessions: await query(
      `select id, tenant_id, legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, ended_at, status, cancel_reason, video_backend, room_name, encounter_ref, version, migrated_from, created_at, updated_at from virtual_sessions order by id`,
    ),
    participants: await query(`select * from session_participants order by session_id, participant_ref`),
    configs: await query(
      `select tenant_id, jitsi_server_url, jitsi_app_id, kms_key_id, branding, enabled, billing, version, updated_at from tenant_virtual_care_configs order by tenant_id`,
    ),
    idMap: await query(`select tenant_id, entity, legacy_id, new_id from vc_migration.id_map order by 1, 2, 3`),
    rejects: await query(`select tenant_id, phase, step_id, legacy_key, reason, detail, raw from vc_migration.rejects order by 1, 2, 3, 4, 5`),
    checkpoints: await query(
      // A split tenant's key ranges keep checkpoints of their own; the whole-tenant ones are what a single run has.
      // 1.4's `eventsThrough` is where its read of AuditLog got to: the participant pushdown reads windows of keys
      // and ends on its last window's last key, past the last participant event a per-row read ends on.
      `select tenant_id, phase, step_id, status, cursor, read, written, rejected, deferred, warnings, facts - 'eventsThrough' as facts
         from vc_migration.step_checkpoints where key_range = '' order by 1, 2, 3`,
    ),
  };
}
