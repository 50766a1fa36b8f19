import { type IdempotencyKey, idempotencyKeys } from '@vc/schema';
import { and, eq, isNull, lt } from 'drizzle-orm';
import type { Executor } from '../db';

export interface IdempotencyScope {
  tenantId: string;
  principal: string;
  key: string;
}

const where = (s: IdempotencyScope) =>
  and(eq(idempotencyKeys.tenantId, s.tenantId), eq(idempotencyKeys.principal, s.principal), eq(idempotencyKeys.key, s.key));

/** Keys and their stored replies live this long (like Stripe's); then `purgeExpiredKeys` deletes them. */
export const KEY_TTL_MS = 24 * 60 * 60_000;

/**
 * Claims the key for this request; returns the existing row when someone else holds it. A claim without
 * a reply older than `abandonedAfterMs` belongs to a process that died before its effect committed (the
 * reply is stored in the effect's transaction), so the retry may take it over and run the request.
 */
export async function claimKey(
  db: Executor,
  scope: IdempotencyScope,
  requestHash: string,
  now: Date,
  abandonedAfterMs: number,
): Promise<IdempotencyKey | undefined> {
  // An expired row is gone for good even if the purge has not run yet.
  await db.delete(idempotencyKeys).where(and(where(scope), lt(idempotencyKeys.createdAt, new Date(now.getTime() - KEY_TTL_MS))));
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ ...scope, requestHash, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length > 0) return undefined;
  const [existing] = await db.select().from(idempotencyKeys).where(where(scope)).limit(1);
  if (existing && existing.responseStatus === null && existing.requestHash === requestHash && now.getTime() - existing.createdAt.getTime() > abandonedAfterMs) {
    // Compare-and-set on created_at: of two retries taking over the same abandoned claim, one wins.
    const taken = await db
      .update(idempotencyKeys)
      .set({ createdAt: now })
      .where(and(where(scope), eq(idempotencyKeys.createdAt, existing.createdAt), isNull(idempotencyKeys.responseStatus)))
      .returning({ key: idempotencyKeys.key });
    if (taken.length > 0) return undefined;
  }
  return existing;
}

/** Stores the reply; called inside the transaction of the request's effect where there is one. */
export async function storeReply(db: Executor, scope: IdempotencyScope, status: number, body: unknown, headers?: Record<string, string>): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: status, responseBody: body ?? null, responseHeaders: headers && Object.keys(headers).length > 0 ? headers : null })
    .where(where(scope));
}

/** A 5xx is not a decision: release the key so the client's retry runs again. */
export async function releaseKey(db: Executor, scope: IdempotencyScope): Promise<void> {
  await db.delete(idempotencyKeys).where(where(scope));
}

/** Deletes keys older than the TTL; returns how many. */
export async function purgeExpiredKeys(db: Executor, now: Date): Promise<number> {
  const deleted = await db
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, new Date(now.getTime() - KEY_TTL_MS)))
    .returning({ key: idempotencyKeys.key });
  return deleted.length;
}
