import { shadowCreateLock, virtualSessions } from '@vc/schema';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Tx } from '../db';
import { AppError } from '../errors';

/** The appointment a session is of, as the migrator pairs a legacy session with the service's: tenant + patient + practitioner + start. */
export interface Slot {
  tenantId: string;
  patientRef: string;
  practitionerRef: string;
  scheduledStart: Date;
}

/**
 * Shadow mode only, first in the create's transaction. The service then takes a copy of legacy's bookings, which the
 * migrator's delta sync (S4) adopts rather than loading legacy's row as a second session. The tenant's shadow lock
 * (shared: creates never wait for each other) makes a create and an S4 batch take turns: a create that had to wait
 * for a batch sees what the batch loaded. A session of the slot the migrator loaded from legacy (it has a legacy id)
 * is this appointment already, and a second one would be a second room and join link that no sync adopts any more:
 * refused 409 `slot_migrated`, nothing written. One extra round trip for the lock, one index read
 * (tenant, patient, start); held until the create commits. Live mode never calls this.
 */
export async function refuseMigratedSlot(tx: Tx, slot: Slot): Promise<void> {
  await tx.execute(shadowCreateLock(slot.tenantId));
  // A statement after the lock's: READ COMMITTED takes its snapshot now, so it sees the batch the lock waited for.
  const [held] = await tx
    .select({ id: virtualSessions.id })
    .from(virtualSessions)
    .where(
      and(
        eq(virtualSessions.tenantId, slot.tenantId),
        eq(virtualSessions.patientRef, slot.patientRef),
        eq(virtualSessions.scheduledStart, slot.scheduledStart),
        eq(virtualSessions.practitionerRef, slot.practitionerRef),
        isNotNull(virtualSessions.legacyId),
      ),
    )
    .limit(1);
  if (held) {
    throw new AppError('slot_migrated', `session ${held.id} is this appointment (same patient, practitioner and scheduledStart), loaded from legacy`, {
      extensions: { sessionId: held.id },
    });
  }
}
