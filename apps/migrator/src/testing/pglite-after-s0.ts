import { cp, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runMigrator } from './run-cli';

/**
 * Test support: a PGlite data directory as `migrator phase s0` leaves it, copied from one made once per test run.
 *
 * `phase s0` from an empty directory is PGlite's initdb plus every migration, ~14 CPU s in WebAssembly, and the
 * files whose subject is a later command (validate, evidence, status, rollback, …) each paid it. The first file that
 * asks runs the real `phase s0` into the run's cache directory (scripts/test-build.mjs makes it, and removes it at
 * the end of the run); the others wait for it and copy the directory. Sharing is safe because no test opens the
 * template: each gets its own copy, the PGlite data closed by the migrator that made it. The copy holds what s0
 * recorded, its ledger row included, so a ledger shown or verified later reads as after a real s0 (the row's
 * config hash is of the environment the template was made with). The first boot from an empty directory, what a
 * newcomer runs first, stays covered where it is the subject: phases/s1/s1-pglite.int.test.ts (s0 twice, then
 * s1), scripts/demo.test.ts (`pnpm demo`) and scripts/build.test.ts (the production build) run `phase s0` on an
 * empty directory themselves.
 */
const NAME = 'pglite-after-s0';
const WAIT_MS = 300_000;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function template(): Promise<string> {
  const cache = process.env.VC_TEST_CACHE_DIR;
  if (!cache) throw new Error('VC_TEST_CACHE_DIR is unset: run the tests through vitest.config.ts, whose globalSetup makes it');
  const ready = join(cache, NAME);
  const failed = join(cache, `${NAME}.failed`);
  try {
    // mkdir is atomic: the one file that creates the lock directory makes the template; the others wait below.
    await mkdir(join(cache, `${NAME}.lock`));
  } catch {
    const deadline = Date.now() + WAIT_MS;
    while (!(await exists(ready))) {
      if (await exists(failed)) throw new Error(`making the s0 template failed in another test file: ${await readFile(failed, 'utf8')}`);
      if (Date.now() > deadline) throw new Error(`the s0 template (${ready}) was not made within ${WAIT_MS / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return ready;
  }
  const building = join(cache, `${NAME}.building`);
  const run = await runMigrator(['phase', 's0'], { VC_DATABASE_URL: `pglite:${join(building, 'pg')}`, VC_KMS: `local:${join(building, 'kms.json')}` });
  if (run.code !== 0) {
    await writeFile(failed, `migrator phase s0 exited ${run.code}: ${run.stderr}`);
    throw new Error(`migrator phase s0 (the template) exited ${run.code}: ${run.stderr}`);
  }
  // Renamed whole once complete: a waiter never sees a half-made template.
  await rename(building, ready);
  return ready;
}

/** Fills `pgDir` (which must not exist yet) with the PGlite data of a database after `migrator phase s0`. */
export async function pgliteAfterS0(pgDir: string): Promise<void> {
  const made = await template();
  await cp(join(made, 'pg'), pgDir, { recursive: true, errorOnExist: true, force: false });
}
