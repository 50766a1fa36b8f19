import type { RejectReason, WarningCode } from './codes';
import { parseLegacyDatetime } from './datetime';
import { mapStatus } from './status';
import { isPatientReference, notPatientReference } from './references';
import { nonEmpty } from './text';
import { checkTexts, type TextKind } from './text-guard';
import { mapVideoBackend, type VideoBackend } from './video-backend';

/** A legacy `VirtualSession` row as text (docs/design.md §4); NULL as null. */
export interface LegacyVirtualSession {
  id: string;
  tenantId: string;
  externalId: string | null;
  patientRef: string | null;
  practitionerRef: string | null;
  scheduledStart: string | null;
  scheduledEnd: string | null;
  startedAt: string | null;
  endedAt: string | null;
  status: string | null;
  videoBackend: string | null;
  roomName: string | null;
  cancelReason: string | null;
  encounterRef: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** A historical session, ready for `virtual_sessions` (the id is the migrator's to derive). */
export interface MappedSession {
  legacyId: string;
  tenantId: string;
  externalId: string | null;
  patientRef: string;
  practitionerRef: string | null;
  scheduledStart: Date | null;
  scheduledEnd: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  status: 'ended' | 'cancelled';
  cancelReason: string | null;
  videoBackend: VideoBackend;
  roomName: string | null;
  encounterRef: string | null;
  createdAt: Date;
  /** Legacy updatedAt, else createdAt: the duplicate-id tie-break and the row's updated_at. */
  updatedAt: Date;
  /** True when ended_at was inferred; step 1.5 refines it from the participants' last leave. */
  endInferred: boolean;
  /** The raw legacy values mapping changed (status, videoBackend, unparsable dates), for audit. */
  migratedFrom: Record<string, unknown>;
}

export type SessionMapping =
  | { kind: 'load'; session: MappedSession; warnings: WarningCode[] }
  /** Not historical at `asOf`: left for s4's delta sync. */
  | { kind: 'deferred' }
  | { kind: 'reject'; reason: RejectReason; field: string; detail: string };

/** Every text of the row the migrator writes: as a column, or raw into migrated_from (jsonb). */
const WRITTEN_TEXTS: Readonly<Partial<Record<keyof LegacyVirtualSession, TextKind>>> = {
  id: 'indexed',
  patientRef: 'indexed',
  practitionerRef: 'indexed',
  status: 'text',
  videoBackend: 'text',
  roomName: 'text',
  cancelReason: 'text',
  encounterRef: 'text',
  scheduledStart: 'text',
  scheduledEnd: 'text',
  startedAt: 'text',
  endedAt: 'text',
  createdAt: 'text',
  updatedAt: 'text',
};

const OPTIONAL_DATETIMES = ['scheduledStart', 'scheduledEnd', 'startedAt', 'endedAt', 'updatedAt'] as const;
type OptionalDatetime = (typeof OPTIONAL_DATETIMES)[number];

/**
 * Maps one legacy session (docs/design.md §5): rejects (missing patient, a text the target cannot hold, a
 * patientRef that is not `Patient/<id>`,
 * unparsable createdAt), defers sessions
 * that are not historical at `asOf` (`coalesce(scheduledStart, createdAt) < asOf`), and loads the rest as
 * `ended` or `cancelled` with every normalisation warned. `tenantId` is the run's tenant: a row read for it is its
 * row whatever the spelling of its own tenantId (legacy's collation reads 'ACME' and 'acme ' for `acme`), so the
 * session is written where the tenant finds it, not under a spelling no run is for.
 */
export function mapLegacySession(row: LegacyVirtualSession, options: { asOf: Date; tenantId: string }): SessionMapping {
  const patientRef = nonEmpty(row.patientRef);
  if (patientRef === null)
    return { kind: 'reject', reason: 'missing_patient', field: 'patientRef', detail: 'patientRef is empty (expected a patient reference)' };
  const unwritable = checkTexts(row, WRITTEN_TEXTS);
  if (unwritable) return { kind: 'reject', ...unwritable };
  // After the text checks, so a ref too long or holding a NUL keeps the reject that says so.
  if (!isPatientReference(patientRef)) return { kind: 'reject', reason: 'invalid_reference', field: 'patientRef', detail: notPatientReference('patientRef') };
  const created = parseLegacyDatetime(row.createdAt);
  if (created.kind !== 'ok') {
    return { kind: 'reject', reason: 'invalid_datetime', field: 'createdAt', detail: 'createdAt is not a datetime (expected YYYY-MM-DD HH:MM:SS[.fff], UTC)' };
  }
  const warnings: WarningCode[] = [];
  const migratedFrom: Record<string, unknown> = {};
  const dates = {} as Record<OptionalDatetime, Date | null>;
  for (const field of OPTIONAL_DATETIMES) {
    const parsed = parseLegacyDatetime(row[field]);
    dates[field] = parsed.kind === 'ok' ? parsed.value : null;
    if (parsed.kind === 'invalid') {
      warnings.push('invalid_optional_datetime');
      migratedFrom[field] = parsed.raw;
    }
  }
  if ((dates.scheduledStart ?? created.value) >= options.asOf) return { kind: 'deferred' };

  const status = mapStatus({
    status: row.status,
    cancelReason: row.cancelReason,
    startedAt: dates.startedAt,
    endedAt: dates.endedAt,
    scheduledEnd: dates.scheduledEnd,
  });
  warnings.push(...status.warnings);
  migratedFrom.status = row.status;
  if (status.endedAt?.getTime() !== dates.endedAt?.getTime()) migratedFrom.endedAt = row.endedAt;
  const backend = mapVideoBackend(row.videoBackend);
  if (backend.warning) warnings.push(backend.warning);
  if (row.videoBackend !== backend.videoBackend) migratedFrom.videoBackend = row.videoBackend;

  return {
    kind: 'load',
    warnings: warnings.length < 2 ? warnings : [...new Set(warnings)],
    session: {
      legacyId: row.id.trim(),
      tenantId: options.tenantId,
      externalId: nonEmpty(row.externalId),
      patientRef,
      practitionerRef: nonEmpty(row.practitionerRef),
      scheduledStart: dates.scheduledStart,
      scheduledEnd: dates.scheduledEnd,
      startedAt: dates.startedAt,
      endedAt: status.endedAt,
      status: status.status,
      cancelReason: status.status === 'cancelled' ? status.cancelReason : null,
      videoBackend: backend.videoBackend,
      roomName: nonEmpty(row.roomName),
      encounterRef: nonEmpty(row.encounterRef),
      createdAt: created.value,
      updatedAt: dates.updatedAt ?? created.value,
      endInferred: status.endInferred,
      migratedFrom,
    },
  };
}

/**
 * Two legacy rows with the same id (an export glitch): the latest updatedAt wins; on a tie the row
 * seen first stays. Returns which of the two to keep.
 */
export function pickDuplicateWinner(seenFirst: { updatedAt: Date }, seenLater: { updatedAt: Date }): 'first' | 'later' {
  return seenLater.updatedAt > seenFirst.updatedAt ? 'later' : 'first';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Whether a legacy externalId can serve as the new session id as it is. */
export function isUuid(value: string | null): value is string {
  return value !== null && UUID.test(value);
}
