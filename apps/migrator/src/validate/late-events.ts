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
 * of an earlier release) or its positions cannot place the rows validate reads (a CSV ordinal against MariaDB):
 * every session is compared then, as before.
 */
export async function lateEventSessions(
  db: Database,
  legacy: LegacySource,
  tenantId: string,
  s4: DeltaSyncScope | undefined,
  batchSize: number,
): Promise<ReadonlySet<string> | undefined> {
  const folds = await queryRows<{ through: string | null; source: string | null }>(
    db,
    s4
      ? sql`select facts->>'eventsThrough' as through, facts->>'eventsSource' as source from vc_migration.step_checkpoints
            where tenant_id = ${tenantId} and phase = 's4' and step_id = ${s4.step} and key_range = '' and facts ? 'eventsThrough'`
      : // A split tenant's run takes its key ranges' over (the last range's), as a single run would end.
        sql`select facts->>'eventsThrough' as through, facts->>'eventsSource' as source from vc_migration.step_checkpoints
            where tenant_id = ${tenantId} and phase = 's1' and step_id = '1.4' and key_range = '' and facts ? 'eventsThrough'`,
  );
  // A position is a primary key on MySQL and a record's ordinal in a CSV export. A CSV export of the MariaDB S1
  // read carries the same ids, so a key still places its rows; an ordinal places nothing in MariaDB.
  if (folds.length === 0) return undefined;
  const kinds = new Set(folds.map((f) => f.source));
  const kind = folds[0]!.source;
  if (kinds.size !== 1 || (kind !== legacy.kind && !(kind === 'mysql' && legacy.kind === 'csv'))) return undefined;
  const through = furthest(folds.map((f) => f.through).filter((p): p is string => p !== null));
  const byKey = kind !== legacy.kind;
  const late = new Set<string>();
  const read = legacy.read('AuditLog', { tenantId, where: PARTICIPANT_HISTORY, after: byKey ? null : through, batchSize, columns: ['entityId'] });
  for await (const batch of read) {
    for (const row of batch.rows) if (!byKey || pastKey(row.id, through)) late.add((row.entityId ?? '').trim());
  }
  return late;
}

const DIGITS = /^[0-9]+$/;

/** Whether a CSV row's legacy id comes after a MariaDB key (none read: every row does); an id that is no key places nothing. */
function pastKey(id: string | null | undefined, through: string | null): boolean {
  const key = (id ?? '').trim();
  if (!DIGITS.test(key)) return false;
  return through === null || BigInt(key) > BigInt(through);
}

/** The furthest of a source's resume positions (MySQL: a primary key; CSV: a record's ordinal), or null for none. */
function furthest(positions: readonly string[]): string | null {
  const later = (a: string, b: string) => (DIGITS.test(a) && DIGITS.test(b) ? BigInt(a) > BigInt(b) : a > b);
  return positions.reduce<string | null>((best, p) => (best === null || later(p, best) ? p : best), null);
}
