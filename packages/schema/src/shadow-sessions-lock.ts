import { type SQL, sql } from 'drizzle-orm';

/**
 * The lock that keeps a tenant's shadow-mode session creates and the migrator's delta sync (S4) from crossing. S4
 * adopts the shadow session the service made of a legacy booking (matched by id, else by tenant + patient +
 * practitioner + scheduled start) instead of loading a second session. Its look-up runs before its batch's
 * transaction, so a shadow session committed after the look-up and before the batch commits would be missed, and
 * one appointment would be two sessions. So a shadow-mode create holds the tenant's lock shared for its transaction,
 * and S4 takes it exclusively for each batch's transaction before it looks for twins again inside it: a create
 * either committed before (S4 sees and adopts it) or waits until the batch committed (the service then sees legacy's
 * copy and makes none). Transaction-level (`xact`): nothing to release, no lock outlives a failed transaction. Keyed
 * by tenant (one lock per batch, whatever its size); another tenant's hash colliding only serializes the two.
 */
const NAMESPACE = 'vc_shadow_sessions';

/** Taken by the service's shadow-mode session create, first in its transaction. Creates do not wait for each other. */
export const shadowCreateLock = (tenantId: string): SQL => sql`select pg_advisory_xact_lock_shared(hashtext(${NAMESPACE}), hashtext(${tenantId}))`;

/** Taken by S4's delta sync, first in a batch's transaction: waits for the tenant's creates under way, holds off new ones. */
export const shadowAdoptLock = (tenantId: string): SQL => sql`select pg_advisory_xact_lock(hashtext(${NAMESPACE}), hashtext(${tenantId}))`;
