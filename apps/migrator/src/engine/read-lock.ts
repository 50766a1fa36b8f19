import type { DatabaseHandle } from '@vc/schema';
import type pg from 'pg';
import { LockHeld } from './errors';
import type { PhaseId } from './types';

/** The phases whose runs write what `validate` compares for a tenant: its sessions, participants, configs, Encounters and consents. */
export const WRITING_PHASES: readonly PhaseId[] = ['s1', 's2', 's3', 's4'];

/**
 * Readers and writers of a tenant's migrated rows exclude each other; readers share with readers, writers with
 * writers (two key ranges of one tenant, S2 beside S3). One advisory lock cannot say that, so each side holds its
 * own key shared and, once it holds it, looks in pg_locks for the other's: whichever comes second sees the first and
 * steps back (both, when they cross; neither then reads or writes). A run of s1–s4, whole tenant or key range, holds
 * the writing key (engine/lock.ts); `validate` and `evidence` hold the reading key.
 */
export const writingKey = (tenantId: string) => `${tenantId}:rows:writing`;
export const readingKey = (tenantId: string) => `${tenantId}:rows:reading`;

const NS = `hashtext('vc_migration')`;

/** Whether another session holds the advisory lock of `key` (pg_locks shows a two-int4 key as classid, objid, objsubid 2). */
export async function heldElsewhere(client: pg.PoolClient | pg.Client, key: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `select exists (select 1 from pg_locks where locktype = 'advisory' and granted and objsubid = 2 and pid <> pg_backend_pid()
       and database = (select oid from pg_database where datname = current_database())
       and classid = ${NS}::oid and objid = hashtext($1)::oid) as held`,
    [key],
  );
  return rows[0]!.held;
}

/** The tenants a reader holds, and why it holds none of the others. */
export interface ReadLock {
  /** Tenants whose rows must not be read now: a run of a writing phase is writing them. */
  refused: ReadonlyMap<string, LockHeld>;
  /** Set once the connection holding the locks is gone (and the locks with it). */
  lost(): LockHeld | undefined;
  release(): Promise<void>;
}

/**
 * What `validate` and `evidence` hold while they read tenants' migrated rows: each tenant's reading key, shared, on
 * one connection, taken for every tenant before anything is read (`--all-tenants` reads every tenant's counts at
 * once). A tenant an s1–s4 run is writing is refused, not read; no such run starts while it is read. Without it a
 * run writing during the checks (an S4 delta sync loading a session after the counts were read) could make a count
 * and what the batches met agree while the target holds a row legacy lacks, and the S4 gate would take that verdict.
 * PGlite: one process owns the directory (lock.ts), so nothing writes beside the reader.
 */
export async function lockTenantsForReading(handle: DatabaseHandle, tenants: readonly string[]): Promise<ReadLock> {
  const refused = new Map<string, LockHeld>();
  if (handle.kind === 'pglite') return { refused, lost: () => undefined, release: async () => undefined };
  const client: pg.PoolClient = await handle.pool!.connect();
  // Held idle while the checks run: pg-pool no longer listens to it, and an 'error' nobody hears kills the process.
  let lost: Error | undefined;
  const onError = (error: Error) => (lost = error);
  client.on('error', onError);
  const held: string[] = [];
  const done = async (failure?: Error) => {
    client.off('error', onError);
    // A connection whose locks could not all be given back is closed, not pooled: closing drops them.
    client.release(failure ?? lost);
  };
  try {
    for (const tenantId of tenants) {
      const key = readingKey(tenantId);
      await client.query(`select pg_advisory_lock_shared(${NS}, hashtext($1))`, [key]);
      if (!(await heldElsewhere(client, writingKey(tenantId)))) {
        held.push(key);
        continue;
      }
      await client.query(`select pg_advisory_unlock_shared(${NS}, hashtext($1))`, [key]);
      const running = await client.query<{ phase: string; started_at: Date }>(
        `select phase, started_at from vc_migration.runs where tenant_id = $1 and phase = any($2) and status = 'running' order by started_at desc limit 1`,
        [tenantId, WRITING_PHASES],
      );
      const run = running.rows[0];
      const what = run ? `phase ${run.phase} of tenant ${tenantId} is running since ${run.started_at.toISOString()}` : `a run is writing tenant ${tenantId}`;
      refused.set(tenantId, new LockHeld(`${what}: its rows are read once that run has ended`));
    }
  } catch (error) {
    await done(error as Error);
    throw error;
  }
  return {
    refused,
    lost: () => (lost ? new LockHeld(`lost the PostgreSQL connection holding the read lock (${lost.message}); validate again`) : undefined),
    async release() {
      if (lost) return done(lost);
      try {
        for (const key of held.splice(0).reverse()) await client.query(`select pg_advisory_unlock_shared(${NS}, hashtext($1))`, [key]);
      } catch (error) {
        return done(error as Error);
      }
      return done();
    },
  };
}
