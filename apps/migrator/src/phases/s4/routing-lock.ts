import type { DatabaseHandle } from '@vc/schema';
import type pg from 'pg';
import { LockHeld } from '../../engine/errors';

const heldInProcess = new Set<string>();

/**
 * One routing change per gateway at a time. Kong routing is gateway-wide while cutovers are recorded per tenant,
 * under per-tenant locks: a rollback and another tenant's cutover side by side could each read the records and
 * then change Kong, leaving that cutover recorded in force on the legacy routing (and its own rollback with no
 * earlier routing to restore). Step 4.2 and `rollback s4` hold this from reading the records until the change is
 * recorded. A session advisory lock on a connection of its own: the server drops it when the process dies.
 */
export async function lockRouting(handle: DatabaseHandle, gateway: string): Promise<{ release(): Promise<void> }> {
  const key = `routing:${gateway}`;
  const refused = () =>
    new LockHeld(`another migrator run is changing the routing of ${gateway} (a rollback s4, or the cutover of a tenant); run again once it has finished`);
  if (handle.kind === 'pglite') {
    if (heldInProcess.has(key)) throw refused();
    heldInProcess.add(key);
    return { release: async () => void heldInProcess.delete(key) };
  }
  const client: pg.PoolClient = await handle.pool!.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(hashtext('vc_migration'), hashtext($1)) as ok`, [key]);
    if (!rows[0]!.ok) throw refused();
  } catch (error) {
    client.release();
    throw error;
  }
  // Idle in our hands meanwhile: pg-pool no longer listens to it, and an 'error' nobody hears kills the process.
  // A lost connection took the lock with it; the run's own writes then fail on their own connections.
  let lost: Error | undefined;
  const onError = (error: Error) => (lost = error);
  client.on('error', onError);
  return {
    async release() {
      try {
        if (!lost) await client.query(`select pg_advisory_unlock(hashtext('vc_migration'), hashtext($1))`, [key]);
      } catch (error) {
        lost = error as Error;
      } finally {
        client.off('error', onError);
        // A connection whose lock could not be given back is closed, not pooled: closing drops it.
        client.release(lost);
      }
    },
  };
}
