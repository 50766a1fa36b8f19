import { outbox, type OutboxRow } from '@vc/schema';
import { and, asc, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '@vc/schema';

export type OutboxKind = OutboxRow['kind'];

/**
 * Claims up to `limit` due rows of the given kinds: `FOR UPDATE SKIP LOCKED` so replicas never pick the
 * same row, then pushes `next_attempt_at` out by the lease, so the claim survives the short transaction.
 * A relay that dies mid-row loses nothing: the lease expires and another replica retries the row (the
 * stream de-duplicates on Nats-Msg-Id, FHIR on the conditional create).
 */
export async function claimDue(db: Database, kinds: OutboxKind[], limit: number, now: Date, leaseMs: number): Promise<OutboxRow[]> {
  if (kinds.length === 0) return [];
  return db.transaction(async (tx) => {
    const due = await tx
      .select()
      .from(outbox)
      .where(and(isNull(outbox.publishedAt), isNull(outbox.refusedAt), lte(outbox.nextAttemptAt, now), inArray(outbox.kind, kinds)))
      .orderBy(asc(outbox.nextAttemptAt), asc(outbox.createdAt))
      .limit(limit)
      .for('update', { skipLocked: true });
    if (due.length === 0) return [];
    await tx
      .update(outbox)
      .set({ nextAttemptAt: new Date(now.getTime() + leaseMs) })
      .where(
        inArray(
          outbox.id,
          due.map((r) => r.id),
        ),
      );
    return due;
  });
}

/** Marks the delivered rows of a pass, all in one statement. */
export async function markPublished(db: Database, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(outbox)
    .set({ publishedAt: now, lastError: null })
    .where(inArray(outbox.id, [...ids]));
}

/** A failed attempt: count it and schedule the next one. The row stays until it succeeds. */
export async function markFailed(db: Database, id: string, nextAttemptAt: Date, error: string): Promise<void> {
  await db
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, nextAttemptAt, lastError: error.slice(0, 500) })
    .where(eq(outbox.id, id));
}

/**
 * The far side refused the row for good: park it (the relay claims it no more) with a PHI-free reason.
 * Requeueing is an operator's UPDATE that clears `refused_at` (apps/service/README.md).
 */
export async function markRefused(db: Database, id: string, now: Date, reason: string, error: string): Promise<void> {
  await db
    .update(outbox)
    .set({ attempts: sql`${outbox.attempts} + 1`, refusedAt: now, refusedReason: reason.slice(0, 200), lastError: error.slice(0, 500) })
    .where(eq(outbox.id, id));
}

/** Rows still to deliver; parked (refused) rows are not, they wait for an operator. */
export async function countPending(db: Database): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(outbox)
    .where(and(isNull(outbox.publishedAt), isNull(outbox.refusedAt)));
  return row?.n ?? 0;
}
