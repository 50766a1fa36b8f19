import { mapLegacySession, parseLegacyDatetime, type LegacyVirtualSession, type MappedSession } from '@vc/domain/legacy';
import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import { changedSince, CLOCK_SKEW_MARGIN_MS, mapDeltaSession, type DeltaSession } from '../phases/s4/delta-session';

/**
 * What validate compares once S4's delta sync has loaded a tenant's sessions. Until then S1's watermark
 * alone scopes the comparison (rows after it are S4's and left out); from then on the rows S4 is
 * responsible for are compared too, mapped as S4 mapped them, or a session S4 wrote and something later
 * lost or changed would pass unseen.
 */
export interface DeltaSyncScope {
  /** The sync whose sessions stage last completed: 4.3 (after the cutover) supersedes 4.1. */
  step: '4.1' | '4.3';
  /** The as-of it mapped rows at: upcoming at it, a row was loaded `scheduled` (see mapDeltaSession). */
  asOf: Date;
}

/**
 * The tenant's completed delta sync, or undefined when no sync has finished its sessions stage (before
 * S4, or S4 interrupted while reading sessions: validate then scopes as before S4). A checkpoint past
 * that stage is `done`, or its cursor names a later stage (S2's billing carry-over writes `billingAfter`).
 * The as-of is the one the sync recorded; a checkpoint written before it recorded one gives its run's.
 */
export async function deltaSyncScope(db: Database, tenantId: string): Promise<DeltaSyncScope | undefined> {
  const rows = await queryRows<{ step_id: '4.1' | '4.3'; as_of: string | Date | null }>(
    db,
    sql`select k.step_id, coalesce(k.facts->>'asOf', r.options->>'asOf', to_json(r.started_at) #>> '{}') as as_of
        from vc_migration.step_checkpoints k left join vc_migration.runs r on r.id = k.run_id
        where k.tenant_id = ${tenantId} and k.phase = 's4' and k.step_id in ('4.1', '4.3') and k.key_range = ''
          and (k.status = 'done' or k.cursor ? 'stage' or k.cursor ? 'billingAfter')
        order by k.step_id desc limit 1`,
  );
  const row = rows[0];
  if (!row?.as_of) return undefined;
  return { step: row.step_id, asOf: new Date(row.as_of) };
}

const at = (raw: string | null | undefined): number | undefined => {
  const parsed = parseLegacyDatetime(raw);
  return parsed.kind === 'ok' ? parsed.value.getTime() : undefined;
};

/** The dates that place a legacy session row before or after the watermark and S4's as-of. */
export interface PlacedRow {
  scheduledStart?: string | null;
  createdAt?: string | null;
  updatedAt?: string | null;
}

/**
 * Whether a legacy row is left to a later sync and compared by no side. Before S4: not historical at S1's
 * watermark (placed by its schedule, else its creation), or edited since it (less the clock-skew margin the
 * delta sync reads with): legacy keeps taking writes until the cutover, S1's copy of such a row may be the older
 * version, and the delta sync is what loads the newer one. After a sync: created or edited at or after its as-of,
 * whatever S4 read of it meanwhile (the next sync catches those); after 4.1 less the same margin, since legacy
 * still took writes, stamped by its own clock, while 4.1 read; 4.3 runs after the cutover and needs none.
 * The rows the margin leaves out are compared once the final sync ran.
 */
export function deferredRow(row: PlacedRow, watermark: Date, s4: DeltaSyncScope | undefined): boolean {
  const updated = at(row.updatedAt) ?? Number.NEGATIVE_INFINITY;
  if (s4) {
    const asOf = s4.asOf.getTime();
    const margin = s4.step === '4.1' ? CLOCK_SKEW_MARGIN_MS : 0;
    return (at(row.createdAt) ?? 0) >= asOf || updated >= asOf - margin;
  }
  const when = at(row.scheduledStart) ?? at(row.createdAt);
  return (when !== undefined && when >= watermark.getTime()) || updated >= watermark.getTime() - CLOCK_SKEW_MARGIN_MS;
}

/** A session as the phase that loads it maps it (what the target must hold), or why it holds none. */
export type ScopedMapping = { kind: 'load'; session: MappedSession | DeltaSession } | { kind: 'reject' } | { kind: 'deferred' };

/**
 * A legacy row mapped as the phase responsible for it mapped it: before S4, S1 at its watermark; after
 * it, rows changed since the watermark (those S4 loads) by S4's mapping at its as-of, the others by S1's; under
 * `tenantId`, the run's, as both phases map them. A session with `lateEvents` is left to the next sync.
 */
export function mapInScope(
  row: LegacyVirtualSession,
  watermark: Date,
  s4: DeltaSyncScope | undefined,
  tenantId: string,
  lateEvents?: ReadonlySet<string>,
): ScopedMapping {
  // Participant events legacy logged after the last fold read them (late-events.ts): the next sync's.
  if (lateEvents?.has((row.id ?? '').trim())) return { kind: 'deferred' };
  if (!s4) {
    if (deferredRow(row, watermark, s4)) return { kind: 'deferred' };
    const s1 = mapLegacySession(row, { asOf: watermark, tenantId });
    return s1.kind === 'load' ? s1 : { kind: s1.kind === 'deferred' ? 'deferred' : 'reject' };
  }
  if (deferredRow(row, watermark, s4)) return { kind: 'deferred' };
  const mapped = changedSince(row, watermark.getTime()) ? mapDeltaSession(row, s4.asOf, tenantId) : mapLegacySession(row, { asOf: watermark, tenantId });
  // Not changed since the watermark, a row is historical at it: S1's mapping loads or rejects it.
  return mapped.kind === 'load' ? mapped : { kind: mapped.kind === 'deferred' ? 'deferred' : 'reject' };
}

/**
 * Whether a mapped session's participants come from legacy: S4 loads an upcoming session `scheduled` and
 * leaves its participants to the service (its refold folds ended and cancelled sessions only).
 */
export const foldsParticipants = (status: string): boolean => status !== 'scheduled';
