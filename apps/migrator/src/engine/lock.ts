import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pidAlive, type DatabaseHandle } from '@vc/schema';
import type pg from 'pg';
import { LockHeld } from './errors';
import { heldElsewhere, readingKey, WRITING_PHASES, writingKey } from './read-lock';
import type { PhaseId } from './types';

/**
 * One run per (tenant, phase) at a time (docs/design.md §6).
 * - PostgreSQL: a session advisory lock `pg_try_advisory_lock(hashtext('vc_migration'), hashtext(tenant:phase))`
 *   on a connection held for the run; the server drops it when the process dies, even by SIGKILL.
 * - PGlite: a data directory can only be opened by one process at all, so the lock is a file beside it
 *   (`<dir>.migrator.lock`, holding the pid), taken before the database is opened. It refuses any second
 *   migrator on that directory, which includes the same (tenant, phase). A lock whose pid is gone is stale
 *   and taken over. `pglite:memory` lives in one process: an in-process set suffices.
 */
export interface Lock {
  release(): Promise<void>;
  /**
   * Aborted when the lock is gone under the run: the PostgreSQL connection holding it was closed by the
   * server (failover, `pg_terminate_backend`), which drops a session advisory lock with it.
   */
  readonly lost?: AbortSignal;
}

const heldInProcess = new Set<string>();

/** The advisory lock key a run holds exclusively for as long as it runs: the (tenant, phase)'s, or a key range's own. */
export const runLockKey = (tenantId: string, phase: PhaseId, range?: string): string => (range ? `${tenantId}:${phase}:${range}` : `${tenantId}:${phase}`);

function refused(what: string, holder: string): LockHeld {
  return new LockHeld(`another migrator run holds ${what} (${holder}); wait for it to finish, or stop it — its checkpoints make it resumable`);
}

/**
 * The advisory lock of one (tenant, phase) on PostgreSQL. With `range` (one key range of a split tenant,
 * a work item of a distributed plan) it is the tenant's lock taken shared plus the range's own, exclusive:
 * ranges of one tenant run side by side, while a whole-tenant run of the phase (exclusive) waits for all.
 */
export async function lockTenantPhase(
  handle: DatabaseHandle,
  tenantId: string,
  phase: PhaseId,
  range?: string,
  /** `false` for a holder that writes none of what validate compares (S4's rollback): readers do not keep it out. */
  writesRows = WRITING_PHASES.includes(phase),
): Promise<Lock> {
  const key = `${tenantId}:${phase}`;
  const what = `tenant ${tenantId} phase ${phase}${range ? ` range ${range}` : ''}`;
  if (handle.kind === 'pglite') {
    const own = range ? `${key}:${range}` : key;
    if (heldInProcess.has(own)) throw refused(what, 'this process');
    heldInProcess.add(own);
    return { release: async () => void heldInProcess.delete(own) };
  }
  const client: pg.PoolClient = await handle.pool!.connect();
  const ns = `hashtext('vc_migration')`;
  // Each lock as (take, release, its key): the tenant's (shared when a range runs), then the range's own.
  const locks: Array<{ take: string; release: string; key: string }> = range
    ? [
        { take: `pg_try_advisory_lock_shared(${ns}, hashtext($1))`, release: `pg_advisory_unlock_shared(${ns}, hashtext($1))`, key },
        { take: `pg_try_advisory_lock(${ns}, hashtext($1))`, release: `pg_advisory_unlock(${ns}, hashtext($1))`, key: runLockKey(tenantId, phase, range) },
      ]
    : [{ take: `pg_try_advisory_lock(${ns}, hashtext($1))`, release: `pg_advisory_unlock(${ns}, hashtext($1))`, key }];
  // A run writing what validate compares also holds the tenant's writing key, shared (engine/read-lock.ts).
  if (writesRows)
    locks.unshift({
      take: `pg_try_advisory_lock_shared(${ns}, hashtext($1))`,
      release: `pg_advisory_unlock_shared(${ns}, hashtext($1))`,
      key: writingKey(tenantId),
    });
  const held: typeof locks = [];
  const unlockAll = async () => {
    while (held.length > 0) {
      const lock = held.pop()!;
      await client.query(`select ${lock.release}`, [lock.key]);
    }
  };
  try {
    for (const lock of locks) {
      const { rows } = await client.query<{ ok: boolean }>(`select ${lock.take} as ok`, [lock.key]);
      if (!rows[0]!.ok) {
        await unlockAll();
        const running = await client.query<{ started_at: Date }>(
          `select started_at from vc_migration.runs where tenant_id = $1 and phase = $2 and status = 'running' order by started_at desc limit 1`,
          [tenantId, phase],
        );
        const since = running.rows[0] ? `running since ${running.rows[0].started_at.toISOString()}` : 'another session';
        throw refused(`the lock of ${what}`, since);
      }
      held.push(lock);
      // Right after the writing key, before the run's own: a reader that came first keeps the run out (read-lock.ts).
      if (writesRows && lock.key === writingKey(tenantId) && (await heldElsewhere(client, readingKey(tenantId)))) {
        await unlockAll();
        throw new LockHeld(`validate or an evidence pack is reading tenant ${tenantId}; run ${what} again once it has finished`);
      }
    }
  } catch (error) {
    client.release();
    throw error;
  }
  // The client sits idle in our hands for the whole run: pg-pool no longer listens to it, so an 'error'
  // (the server closed it) would be an uncaught exception that kills the process without its summary.
  const lost = new AbortController();
  const onError = (error: Error) => lost.abort(new Error(`lost the PostgreSQL connection holding the lock of ${what} (${error.message}); run again to resume`));
  client.on('error', onError);
  return {
    lost: lost.signal,
    async release() {
      if (lost.signal.aborted) return client.release(lost.signal.reason as Error);
      try {
        await unlockAll();
      } finally {
        client.off('error', onError);
        client.release();
      }
    },
  };
}

/** The file lock of a PGlite data directory; see the module comment. */
export function lockPgliteDir(dataDir: string): Lock {
  const path = `${dataDir.replace(/\/+$/, '')}.migrator.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
      closeSync(fd);
      return { release: async () => rmSync(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let holder: { pid?: number; startedAt?: string } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8')) as typeof holder;
      } catch {
        // A half-written lock file: its writer died between open and write, so it is stale.
      }
      if (holder.pid !== undefined && pidAlive(holder.pid)) throw refused(`the PGlite database ${dataDir}`, `pid ${holder.pid}, since ${holder.startedAt}`);
      rmSync(path, { force: true });
    }
  }
  throw refused(`the PGlite database ${dataDir}`, 'a lock file that keeps coming back');
}

/**
 * Every phase's lock of the tenant, exclusive, in phase order (a refusal gives back those taken): what removes the
 * tenant's migration state holds, so that no run of it, whole or a key range, is writing that state meanwhile.
 */
export async function lockEveryPhase(handle: DatabaseHandle, tenantId: string, phases: readonly PhaseId[]): Promise<Lock> {
  const held: Lock[] = [];
  const releaseAll = () => Promise.all(held.splice(0).map((l) => l.release()));
  try {
    for (const phase of phases) held.push(await lockTenantPhase(handle, tenantId, phase));
  } catch (error) {
    await releaseAll();
    throw error;
  }
  return { release: async () => void (await releaseAll()) };
}
