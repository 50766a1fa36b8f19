import type { BillingEventDraft } from '@vc/domain/billing';
import { type BillingEvent, billingEvents } from '@vc/schema';
import { and, eq } from 'drizzle-orm';
import type { Executor } from '../db';

/** Inserts the billing event of a session end; the (tenant, session, code) key makes a second one impossible. */
export async function insertBillingEvent(db: Executor, tenantId: string, sessionId: string, draft: BillingEventDraft): Promise<BillingEvent> {
  const [row] = await db
    .insert(billingEvents)
    .values({
      tenantId,
      sessionId,
      code: draft.code,
      modifier: draft.modifier,
      placeOfService: draft.placeOfService,
      units: draft.units,
      occurredAt: draft.occurredAt,
    })
    .returning();
  return row!;
}

/** Marks a billing event published once its CloudEvent is on the stream. */
export async function markBillingPublished(db: Executor, tenantId: string, billingEventId: string): Promise<void> {
  await db
    .update(billingEvents)
    .set({ status: 'published' })
    .where(and(eq(billingEvents.tenantId, tenantId), eq(billingEvents.id, billingEventId)));
}
