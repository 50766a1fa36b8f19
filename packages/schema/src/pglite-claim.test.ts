import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from './client';
import { claimPgliteDir, PgliteInUseError } from './pglite-claim';

const root = mkdtempSync(join(tmpdir(), 'vc-pglite-claim-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A live process other than this one, to stand for the service holding the folder. */
function otherProcess() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const gone = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { pid: child.pid!, stop: async () => (child.kill('SIGKILL'), await gone) };
}

describe('one process per pglite: folder', () => {
  it('a folder another live process holds is refused, naming the pid and never opened; once that process is gone it is taken over', async () => {
    const dir = join(root, 'pg');
    const holder = otherProcess();
    writeFileSync(`${dir}.vc-open.pid`, String(holder.pid));
    const refused = await createDatabase(`pglite:${dir}`).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(PgliteInUseError);
    expect((refused as Error).message).toContain(`pglite:${dir} is open in another process (pid ${holder.pid})`);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(false);

    await holder.stop();
    const release = claimPgliteDir(dir);
    release();
    expect(existsSync(`${dir}.vc-open.pid`)).toBe(false);
  });

  it('handles of one process share the claim; the file goes with the last release', () => {
    const dir = join(root, 'shared');
    const first = claimPgliteDir(dir);
    const second = claimPgliteDir(dir);
    first();
    expect(existsSync(`${dir}.vc-open.pid`)).toBe(true);
    second();
    expect(existsSync(`${dir}.vc-open.pid`)).toBe(false);
  });
});
