import { mapLegacySession, type LegacyVirtualSession } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { leafOf, shareOf } from '../evidence/fingerprint';
import type { LegacySource } from '../legacy/types';

const iso = (value: Date | string | null | undefined): string | null => (value === null || value === undefined ? null : new Date(value).toISOString());

/**
 * The columns S1's mapping decides and no later step may change: a session's identity, people, schedule,
 * start, status and backend. ended_at (step 1.5 refines it), encounter_ref (S2/S4 backfill it), room and
 * timestamps are left out.
 */
export function sessionProjection(s: {
  legacyId: string;
  patientRef: string | null;
  practitionerRef: string | null;
  scheduledStart: unknown;
  scheduledEnd: unknown;
  startedAt: unknown;
  status: string;
  cancelReason: string | null;
  videoBackend: string;
}) {
  return {
    legacyId: s.legacyId,
    patientRef: s.patientRef,
    practitionerRef: s.practitionerRef,
    scheduledStart: iso(s.scheduledStart as Date | null),
    scheduledEnd: iso(s.scheduledEnd as Date | null),
    startedAt: iso(s.startedAt as Date | null),
    status: s.status,
    cancelReason: s.cancelReason,
    videoBackend: s.videoBackend,
  };
}

/** A migrated session as the fingerprint reads it from `virtual_sessions` ({@link TARGET_SESSION_COLUMNS}). */
export interface TargetRow {
  legacy_id: string;
  patient_ref: string;
  practitioner_ref: string | null;
  scheduled_start: Date | null;
  scheduled_end: Date | null;
  started_at: Date | null;
  status: string;
  cancel_reason: string | null;
  video_backend: string;
}

/** The columns of {@link TargetRow}, for the selects that read it. */
export const TARGET_SESSION_COLUMNS = sql.raw(
  'legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, status, cancel_reason, video_backend',
);

/** A target session's fingerprint leaf: the same projection as the legacy row's after mapping. */
export function targetSessionLeaf(r: TargetRow): bigint {
  return leafOf(
    sessionProjection({
      legacyId: r.legacy_id,
      patientRef: r.patient_ref,
      practitionerRef: r.practitioner_ref,
      scheduledStart: r.scheduled_start,
      scheduledEnd: r.scheduled_end,
      startedAt: r.started_at,
      status: r.status,
      cancelReason: r.cancel_reason,
      videoBackend: r.video_backend,
    }),
  );
}

/** Both sides' session sums (see `shareOf`), and whether every target row was met through a legacy batch. */
export interface StreamedDigests {
  legacy: { sum: bigint; rows: number };
  target: { sum: bigint; rows: number };
  /** False when the target holds sessions legacy does not (only the per-id maps can name those). */
  complete: boolean;
  /** The legacy ids S1 loads and those it deferred: the participants fingerprint is keyed by them. */
  loaded: Set<string>;
  deferred: Set<string>;
}

/**
 * The sessions fingerprint's sums, streamed: each legacy batch mapped as S1 maps it at the watermark, and
 * the target rows of the same ids looked up in one query, so memory holds a batch and the tenant's ids, not its rows. Only for
 * a source whose ids are unique (MySQL's primary key): the duplicate-id rule would need every id seen.
 * Rows S1 deferred are left out of both sides, as the per-id comparison does.
 */
export async function streamedSessionDigests(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  watermark: Date,
  batchSize: number,
): Promise<StreamedDigests> {
  const out: StreamedDigests = { legacy: { sum: 0n, rows: 0 }, target: { sum: 0n, rows: 0 }, complete: false, loaded: new Set(), deferred: new Set() };
  let met = 0;
  for await (const batch of legacy.read('VirtualSession', { tenantId, batchSize })) {
    const deferred = new Set<string>();
    for (const row of batch.rows) {
      const mapping = mapLegacySession(row as unknown as LegacyVirtualSession, { asOf: watermark });
      if (mapping.kind === 'deferred') deferred.add((row.id ?? '').trim());
      if (mapping.kind !== 'load') continue;
      out.loaded.add(mapping.session.legacyId);
      out.legacy.sum += shareOf(mapping.session.legacyId, leafOf(sessionProjection(mapping.session)));
      out.legacy.rows += 1;
    }
    const ids = batch.rows.map((row) => (row.id ?? '').trim());
    const rows = await queryRows<TargetRow>(
      db,
      sql`select ${TARGET_SESSION_COLUMNS}
          from virtual_sessions where tenant_id = ${tenantId} and legacy_id in (select jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb))`,
    );
    met += rows.length;
    for (const id of deferred) out.deferred.add(id);
    for (const r of rows) {
      if (deferred.has(r.legacy_id)) continue;
      out.target.sum += shareOf(r.legacy_id, targetSessionLeaf(r));
      out.target.rows += 1;
    }
  }
  const [count] = await queryRows<{ n: number | string }>(
    db,
    sql`select count(*) as n from virtual_sessions where tenant_id = ${tenantId} and legacy_id is not null`,
  );
  out.complete = Number(count?.n ?? 0) === met;
  return out;
}
