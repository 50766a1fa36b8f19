import { type IdempotencyKey, idempotencyKeys } from '@vc/schema';
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db';

export interface IdempotencyScope {
  tenantId: string;
  principal: string;
  key: string;
}

const where = (s: IdempotencyScope) =>
  and(eq(idempotencyKeys.tenantId, s.tenantId), eq(idempotencyKeys.principal, s.principal), eq(idempotencyKeys.key, s.key));

/** Claims the key for this request; returns the existing row when someone claimed it first. */
export async function claimKey(db: Executor, scope: IdempotencyScope, requestHash: string, now: Date): Promise<IdempotencyKey | undefined> {
  const inserted = await db
    .insert(idempotencyKeys)
    .values({ ...scope, requestHash, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (inserted.length > 0) return undefined;
  const [existing] = await db.select().from(idempotencyKeys).where(where(scope)).limit(1);
  return existing;
}

export async function storeReply(db: Executor, scope: IdempotencyScope, status: number, body: unknown): Promise<void> {
  await db.update(idempotencyKeys).set({ responseStatus: status, responseBody: body ?? null }).where(where(scope));
}

/** A 5xx is not a decision: release the key so the client's retry runs again. */
export async function releaseKey(db: Executor, scope: IdempotencyScope): Promise<void> {
  await db.delete(idempotencyKeys).where(where(scope));
}
