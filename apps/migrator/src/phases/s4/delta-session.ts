import {
  mapLegacySession,
  normalise,
  parseLegacyDatetime,
  type LegacyVirtualSession,
  type MappedSession,
  type SessionMapping,
  type WarningCode,
} from '@vc/domain/legacy';

const CANCELLED = new Set(['cancelled', 'canceled', 'no_show', 'expired', 'failed']);
// Far enough that every row reads as historical, so the S1 mapping validates and normalises all of them.
const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

/**
 * The `migrated_from` key of a row loaded as upcoming (`scheduled`, or `cancelled` with no start or end): at a later
 * as-of the same legacy version may be historical and map as S1 maps it (a start, an end, an outcome), so the
 * delta sync replaces a row carrying it although legacy's `updatedAt` did not move (see `changing`, 4.1-delta-sync.ts).
 */
export const LOADED_UPCOMING = 'loadedUpcoming';

/** A session for `virtual_sessions`: the S1 mapping, with the status an upcoming session keeps. */
export type DeltaSession = Omit<MappedSession, 'status'> & { status: 'scheduled' | 'ended' | 'cancelled' };

/**
 * Maps a legacy row that changed since S1's watermark. Historical rows (at `asOf`) take the S1 mapping
 * as is; upcoming ones load as `scheduled` — or `cancelled` when legacy already cancelled them — with no
 * start or end, since the new service will run them. `tenantId` is the run's (see `mapLegacySession`).
 */
export function mapDeltaSession(
  row: LegacyVirtualSession,
  asOf: Date,
  tenantId: string,
): { kind: 'load'; session: DeltaSession; warnings: WarningCode[] } | Extract<SessionMapping, { kind: 'reject' }> {
  const historical = mapLegacySession(row, { asOf, tenantId });
  if (historical.kind === 'reject' || historical.kind === 'load') return historical;
  const mapped = mapLegacySession(row, { asOf: END_OF_TIME, tenantId });
  if (mapped.kind !== 'load') return mapped as Extract<SessionMapping, { kind: 'reject' }>;
  const status = normalise(row.status);
  const cancelled = CANCELLED.has(status);
  const session: DeltaSession = {
    ...mapped.session,
    // How it was mapped, kept on the row: once past, the same legacy version maps otherwise and a later sync re-maps it.
    migratedFrom: { ...mapped.session.migratedFrom, [LOADED_UPCOMING]: true },
    status: cancelled ? 'cancelled' : 'scheduled',
    cancelReason: cancelled ? (row.cancelReason ?? '').trim() || status : null,
    startedAt: null,
    endedAt: null,
    endInferred: false,
  };
  // Only the warnings that still describe the row: status inference did not happen for an upcoming session.
  const warnings = mapped.warnings.filter((w) => w !== 'inferred_end' && w !== 'unknown_status' && w !== 'ended_before_started');
  return { kind: 'load', session, warnings };
}

function at(raw: string | null | undefined): number | undefined {
  const parsed = parseLegacyDatetime(raw);
  return parsed.kind === 'ok' ? parsed.value.getTime() : undefined;
}

/**
 * How far before the watermark an `updatedAt` still counts as a possible change. legacy stamps `updatedAt` with
 * its own application servers' clock, the watermark is the migrator's: an edit S1 did not see can carry an
 * instant a little before the watermark when legacy's clock runs behind. Re-reading such rows is harmless: the
 * delta sync only writes a version newer than the stored one, so an unchanged row writes nothing; and a row
 * historical at the watermark maps the same at any as-of (the as-of only decides deferral), so validate, which
 * maps these rows as S4 does, compares them alike.
 */
export const CLOCK_SKEW_MARGIN_MS = 60 * 60_000;

/**
 * Changed since the watermark: created or updated after it (less the skew margin), or not historical at it (S1
 * deferred it). The rows a delta sync loads; validate compares them by the same rule once a sync ran.
 */
export function changedSince(row: { createdAt?: string | null; updatedAt?: string | null; scheduledStart?: string | null }, watermark: number): boolean {
  const created = at(row.createdAt);
  const updated = at(row.updatedAt);
  const start = at(row.scheduledStart) ?? created;
  return (created ?? 0) >= watermark || (updated ?? 0) >= watermark - CLOCK_SKEW_MARGIN_MS || (start ?? Number.POSITIVE_INFINITY) >= watermark;
}
