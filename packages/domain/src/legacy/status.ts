import type { WarningCode } from './codes';
import { normalise, nonEmpty } from './text';

const ENDED = new Set(['completed', 'ended', 'finished']);
const CANCELLED = new Set(['cancelled', 'canceled', 'no_show', 'expired', 'failed']);
/** Legacy states of a session that had not finished; decided by whether it started (docs/design.md §5). */
const UNFINISHED = new Set(['scheduled', 'waiting', 'active', 'in_progress']);

/** The reason every never-started, unfinished legacy session is cancelled with. */
export const NOT_STARTED_REASON = 'not_started_before_migration';

export interface StatusInput {
  status: string | null;
  cancelReason: string | null;
  startedAt: Date | null;
  endedAt: Date | null;
  scheduledEnd: Date | null;
}

export interface StatusMapping {
  status: 'ended' | 'cancelled';
  cancelReason: string | null;
  endedAt: Date | null;
  /** True when ended_at was inferred (no legacy endedAt): 1.5 may refine it from participant leaves. */
  endInferred: boolean;
  warnings: WarningCode[];
}

/**
 * Where an unfinished-but-started session ended, lacking a legacy endedAt: the last `participant.left`,
 * else scheduledEnd when it is not before the start, else the start itself. A leave before the start is
 * not evidence of the end.
 */
export function inferEndedAt(startedAt: Date, scheduledEnd: Date | null, lastLeftAt: Date | null): Date {
  if (lastLeftAt && lastLeftAt >= startedAt) return lastLeftAt;
  if (scheduledEnd && scheduledEnd >= startedAt) return scheduledEnd;
  return startedAt;
}

/** An end before the start is moved to the start, with a warning. */
function clampedEnd(endedAt: Date | null, startedAt: Date | null, warnings: WarningCode[]): Date | null {
  if (endedAt && startedAt && endedAt < startedAt) {
    warnings.push('ended_before_started');
    return startedAt;
  }
  return endedAt;
}

/**
 * A historical session's status (docs/design.md §5): always `ended` or `cancelled`. `lastLeftAt` is the last
 * participant leave when known (null in step 1.1, which runs before the participant backfill).
 */
export function mapStatus(input: StatusInput, lastLeftAt: Date | null = null): StatusMapping {
  const legacy = normalise(input.status);
  const warnings: WarningCode[] = [];
  if (ENDED.has(legacy))
    return { status: 'ended', cancelReason: null, endedAt: clampedEnd(input.endedAt, input.startedAt, warnings), endInferred: false, warnings };
  if (CANCELLED.has(legacy)) {
    return {
      status: 'cancelled',
      cancelReason: nonEmpty(input.cancelReason) ?? legacy,
      endedAt: clampedEnd(input.endedAt, input.startedAt, warnings),
      endInferred: false,
      warnings,
    };
  }
  if (!UNFINISHED.has(legacy)) warnings.push('unknown_status');
  if (!input.startedAt)
    return {
      status: 'cancelled',
      cancelReason: NOT_STARTED_REASON,
      endedAt: clampedEnd(input.endedAt, input.startedAt, warnings),
      endInferred: false,
      warnings,
    };
  if (input.endedAt)
    return { status: 'ended', cancelReason: null, endedAt: clampedEnd(input.endedAt, input.startedAt, warnings), endInferred: false, warnings };
  warnings.push('inferred_end');
  return { status: 'ended', cancelReason: null, endedAt: inferEndedAt(input.startedAt, input.scheduledEnd, lastLeftAt), endInferred: true, warnings };
}
