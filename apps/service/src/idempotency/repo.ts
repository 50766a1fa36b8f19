import { type IdempotencyKey, idempotencyKeys } from '@vc/schema';
import { and, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../db';

export interface IdempotencyScope {
  tenantId: string;
  principal: string;
  key: string;
}

const where = (s: IdempotencyScope) =>
  and(eq(idempotencyKeys.tenantId, s.tenantId), eq(idempotencyKeys.principal, s.principal), eq(idempotencyKeys.key, s.key));

/** A claim without a reply this old belongs to a process that died mid-request: the retry may take it over. */
export const ABANDONED_CLAIM_MS = 60_000;

/** Claims the key for this request; returns the existing row when someone else holds it. */
export async function claimKey(db: Executor, scope: IdempotencyScope, requestHash: string, now: Date): Promise<IdempotencyKey | undefined> {
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ ...scope, requestHash, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length > 0) return undefined;
  const [existing] = await db.select().from(idempotencyKeys).where(where(scope)).limit(1);
  if (existing && existing.responseStatus === null && existing.requestHash === requestHash && now.getTime() - existing.createdAt.getTime() > ABANDONED_CLAIM_MS) {
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

export async function storeReply(db: Executor, scope: IdempotencyScope, status: number, body: unknown): Promise<void> {
  await db.update(idempotencyKeys).set({ responseStatus: status, responseBody: body ?? null }).where(where(scope));
}

/** A 5xx is not a decision: release the key so the client's retry runs again. */
export async function releaseKey(db: Executor, scope: IdempotencyScope): Promise<void> {
  await db.delete(idempotencyKeys).where(where(scope));
}
