import { createDatabase, parseDatabaseUrl, type DatabaseHandle } from '@vc/schema';
import type { MigratorConfig } from '../config';
import { lockPgliteDir } from '../engine/lock';
import { ExitError } from '../exit-error';
import { noteTargetOpened } from '../ledger/invocation';
import { recordStart } from '../ledger/start';

/**
 * Opens the target database of `VC_DATABASE_URL`. A PGlite directory is locked first: only one process
 * may have it open (see engine/lock.ts). Closing the handle releases the lock.
 */
export async function openTarget(config: MigratorConfig): Promise<DatabaseHandle> {
  let target;
  try {
    target = parseDatabaseUrl(config.VC_DATABASE_URL);
  } catch (error) {
    throw new ExitError(2, `VC_DATABASE_URL: ${(error as Error).message}`, { cause: error });
  }
  noteTargetOpened();
  const lock = target.kind === 'pglite' && target.dataDir !== undefined ? lockPgliteDir(target.dataDir) : undefined;
  let handle: DatabaseHandle;
  try {
    handle = await createDatabase(config.VC_DATABASE_URL);
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const opened: DatabaseHandle = {
    ...handle,
    async close() {
      try {
        await handle.close();
      } finally {
        await lock?.release();
      }
    },
  };
  // A writing invocation's start row, before it can write anything (a no-op for reads and once started).
  try {
    await recordStart(opened, config);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return opened;
}
