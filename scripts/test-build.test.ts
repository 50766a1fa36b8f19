import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect, it } from 'vitest';
import { migratorArgv, migratorBin } from '../apps/migrator/src/testing/run-cli';

const SETUP = new URL('./test-build.mjs', import.meta.url).href;

/**
 * Another `vitest run` in the same checkout (one test file run beside the full suite) runs the global setup too. Its
 * build must leave the one this run's migrators start from as it is: a rebuild in place removed the files under
 * them, and a lazy import() mid-run failed (exit 1).
 */
it("another test run's global setup and teardown leave this run's migrator build untouched", () => {
  const bin = migratorBin();
  const files = () => readdirSync(dirname(bin)).sort();
  const before = { files: files(), inode: statSync(bin).ino, mtimeMs: statSync(bin).mtimeMs };

  const other = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const { default: setup } = await import(${JSON.stringify(SETUP)}); const teardown = setup(); teardown?.();`],
    { encoding: 'utf8' },
  );
  expect(other.status, other.stderr).toBe(0);

  expect({ files: files(), inode: statSync(bin).ino, mtimeMs: statSync(bin).mtimeMs }).toEqual(before);
  const version = spawnSync(process.execPath, migratorArgv(['--version']), { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  expect(version.status, version.stderr).toBe(0);
}, 120_000);
