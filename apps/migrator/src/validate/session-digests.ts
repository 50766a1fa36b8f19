import { sql } from 'drizzle-orm';
import { jsonText as text, leafOf } from '../evidence/fingerprint';

/** An instant as `Date#toISOString` writes it (a Date as it is: a copy per value was a share of the pass's garbage). */
const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : (value instanceof Date ? value : new Date(value)).toISOString();

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

type SessionProjection = ReturnType<typeof sessionProjection>;

/**
 * `canonicalJson(projection)` of a {@link sessionProjection}, written out (its keys in canonical order):
 * the streamed fingerprint hashes it for every legacy row, and the generic walk was most of that.
 */
export function sessionJson(p: SessionProjection): string {
  return `{"cancelReason":${text(p.cancelReason)},"legacyId":${text(p.legacyId)},"patientRef":${text(p.patientRef)},"practitionerRef":${text(p.practitionerRef)},"scheduledEnd":${text(p.scheduledEnd)},"scheduledStart":${text(p.scheduledStart)},"startedAt":${text(p.startedAt)},"status":${text(p.status)},"videoBackend":${text(p.videoBackend)}}`;
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

/** The columns of {@link TargetRow}, for the selects that read it (and S4's upsert, which compares the same ones). */
export const TARGET_SESSION_COLUMN_LIST: readonly string[] =
  'legacy_id, patient_ref, practitioner_ref, scheduled_start, scheduled_end, started_at, status, cancel_reason, video_backend'.split(', ');
export const TARGET_SESSION_COLUMNS = sql.raw(TARGET_SESSION_COLUMN_LIST.join(', '));

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
