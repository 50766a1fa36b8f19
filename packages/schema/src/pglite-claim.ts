import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A `pglite:<dir>` another live process has open. */
export class PgliteInUseError extends Error {
  override readonly name = 'PgliteInUseError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `pglite:${dataDir} is open in another process (pid ${pid}): PGlite serves one process at a time, and a second one corrupts it. ` +
        'Stop that process first (the service, or a migrator command), or give both a postgres:// VC_DATABASE_URL. ' +
        `If pid ${pid} is not using it (a pid reused after a crash), delete ${dataDir}.vc-open.pid`,
    );
  }
}

const held = new Map<string, number>();

/** Whether a process of this host is alive (EPERM: the pid exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseAll(): void {
  for (const file of held.keys()) rmSync(file, { force: true });
  held.clear();
}

/**
 * PGlite is a whole PostgreSQL inside this process with no lock of its own on its folder: a second process
 * opening it (the service beside a migrator command) writes over the first one's pages and leaves a database
 * that no longer reads. A pid file beside the folder refuses that second process; one left by a killed
 * process names a pid that is gone and is taken over. Handles of one process share the claim.
 */
export function claimPgliteDir(dataDir: string): () => void {
  const file = `${resolve(dataDir)}.vc-open.pid`;
  const count = held.get(file);
  if (count === undefined) {
    for (;;) {
      try {
        writeFileSync(file, String(process.pid), { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
        if (holder !== process.pid && Number.isInteger(holder) && holder > 0 && pidAlive(holder)) throw new PgliteInUseError(dataDir, holder);
        rmSync(file, { force: true });
      }
    }
    if (held.size === 0) process.once('exit', releaseAll);
  }
  held.set(file, (count ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (held.get(file) ?? 1) - 1;
    if (left > 0) return void held.set(file, left);
    held.delete(file);
    rmSync(file, { force: true });
  };
}
