import { queryRows, type Database } from '@vc/schema';
import { sql } from 'drizzle-orm';
import type { LegacySource } from '../legacy/types';
import { PARTICIPANT_HISTORY } from '../phases/s1/participant-history';
import type { DeltaSyncScope } from './s4-scope';

/**
 * The sessions whose participant history legacy logged after the fold the target reflects read it: S1 1.4's
 * before S4, the completed delta sync's after it. Legacy keeps logging until the cutover, and an AuditLog row
 * carries no time it was written (`occurredAt` is when the participant joined, and a late-delivered row can
 * name any time), so only its position tells it apart: past the last position that fold read (its
 * `eventsThrough` fact), it is the next sync's to fold. Validate leaves such a session to that sync, compared
 * by no side, as it leaves a session row edited since S1. Undefined when the fold recorded no position (a run
 * of an earlier release): every session is compared then, as before.
 */
export async function lateEventSessions(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  s4: DeltaSyncScope | undefined,
  batchSize: number,
): Promise<ReadonlySet<string> | undefined> {
  const folds = await queryRows<{ through: string | null }>(
    db,
    s4
      ? sql`select facts->>'eventsThrough' as through from vc_migration.step_checkpoints
            where tenant_id = ${tenantId} and phase = 's4' and step_id = ${s4.step} and key_range = '' and facts ? 'eventsThrough'`
      : // A split tenant's key ranges each record their own; the last range read the furthest.
        sql`select facts->>'eventsThrough' as through from vc_migration.step_checkpoints
            where tenant_id = ${tenantId} and phase = 's1' and step_id = '1.4' and facts ? 'eventsThrough'`,
  );
  if (folds.length === 0) return undefined;
  const after = furthest(folds.map((f) => f.through).filter((p): p is string => p !== null));
  const late = new Set<string>();
  for await (const batch of legacy.read('AuditLog', { tenantId, where: PARTICIPANT_HISTORY, after, batchSize, columns: ['entityId'] })) {
    for (const row of batch.rows) late.add((row.entityId ?? '').trim());
  }
  return late;
}

const DIGITS = /^[0-9]+$/;

/** The furthest of a source's resume positions (MySQL: a primary key; CSV: a record's ordinal), or null for none. */
function furthest(positions: readonly string[]): string | null {
  const later = (a: string, b: string) => (DIGITS.test(a) && DIGITS.test(b) ? BigInt(a) > BigInt(b) : a > b);
  return positions.reduce<string | null>((best, p) => (best === null || later(p, best) ? p : best), null);
}
