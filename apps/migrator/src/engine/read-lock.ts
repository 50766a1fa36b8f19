import type { DatabaseHandle } from '@vc/schema';
import type pg from 'pg';
import { LockHeld } from './errors';
import type { PhaseId } from './types';

/** The phases whose runs write what `validate` compares for a tenant: its sessions, participants, configs, Encounters and consents. */
export const WRITING_PHASES: readonly PhaseId[] = ['s1', 's2', 's3', 's4'];

/** The tenants a reader holds, and why it holds none of the others. */
export interface ReadLock {
  /** Tenants whose rows must not be read now: a run of a writing phase holds their lock. */
  refused: ReadonlyMap<string, LockHeld>;
  release(): Promise<void>;
}

/**
 * What a reader of tenants' migrated rows holds while it reads: for each tenant, each writing phase's (tenant,
 * phase) advisory lock, shared, on one connection. A run of one of those phases takes its lock exclusive
 * (engine/lock.ts), so while `validate` reads a tenant no such run starts for it, and a tenant whose run is going
 * is refused, not read. Without it a run that writes during the checks (an S4 delta sync loading a session after
 * the run's counts were read) could make a count and what the batches met agree while the target holds a row
 * legacy lacks, and the S4 gate would take that verdict. All tenants are taken before anything is read, because
 * `--all-tenants` reads every tenant's counts at once. Readers share: validates and evidence packs run side by
 * side. PGlite: one process owns the directory (lock.ts), so nothing writes beside the reader.
 */
export async function lockTenantsForReading(
  handle: DatabaseHandle,
  tenants: readonly string[],
  phases: readonly PhaseId[] = WRITING_PHASES,
): Promise<ReadLock> {
  const refused = new Map<string, LockHeld>();
  if (handle.kind === 'pglite') return { refused, release: async () => undefined };
  const client: pg.PoolClient = await handle.pool!.connect();
  const ns = `hashtext('vc_migration')`;
  const held: string[] = [];
  const unlockAll = async () => {
    for (const key of held.splice(0).reverse()) await client.query(`select pg_advisory_unlock_shared(${ns}, hashtext($1))`, [key]);
  };
  const lockTenant = async (tenantId: string) => {
    const mine: string[] = [];
    for (const phase of phases) {
      const key = `${tenantId}:${phase}`;
      const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock_shared(${ns}, hashtext($1)) as ok`, [key]);
      if (rows[0]!.ok) {
        mine.push(key);
        continue;
      }
      for (const taken of mine.reverse()) await client.query(`select pg_advisory_unlock_shared(${ns}, hashtext($1))`, [taken]);
      const running = await client.query<{ started_at: Date }>(
        `select started_at from vc_migration.runs where tenant_id = $1 and phase = $2 and status = 'running' order by started_at desc limit 1`,
        [tenantId, phase],
      );
      const since = running.rows[0] ? ` since ${running.rows[0].started_at.toISOString()}` : '';
      refused.set(tenantId, new LockHeld(`phase ${phase} of tenant ${tenantId} is running${since}: its rows are read once that run has ended`));
      return;
    }
    held.push(...mine);
  };
  try {
    for (const tenantId of tenants) await lockTenant(tenantId);
  } catch (error) {
    await unlockAll().catch(() => undefined);
    client.release();
    throw error;
  }
  return {
    refused,
    async release() {
      try {
        await unlockAll();
        client.release();
      } catch (error) {
        // The session is gone, and its locks with it: the connection is not given back to the pool.
        client.release(error as Error);
      }
    },
  };
}
