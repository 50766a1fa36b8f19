// vitest globalSetup: builds the migrator once per test run into a directory of its own beside src/,
// apps/migrator/dist-test-<pid of this vitest>/, and the tests that run the CLI as a child process
// (apps/migrator/src/testing/run-cli.ts) start that build with plain node (its path in VC_TEST_MIGRATOR_BIN). Under tsx
// every start transformed and resolved each module through its loader: 2.3 CPU s against 0.8 for the build, and
// the suite starts the CLI several hundred times. The build is what production runs (scripts/build-app.mjs); the
// tests that pin the operator's own entry (bin/migrator.mjs under a terminal) still start that. The service is built
// the same way for the tests that start it as a child process (VC_TEST_SERVICE_BIN): 3.0 CPU s a start under tsx, 1.1
// from the build.
//
// A directory per run, not one shared dist-test/: a second `vitest run` in the same checkout (one file run beside the
// full suite) rebuilt the shared one, removing it first, under the first run's migrators; one of them then failed a
// lazy import() (the ledger's end row, a phase's client) with ERR_MODULE_NOT_FOUND and exited 1, its phase done.
// Built at every `vitest run` and removed at its end; a long `vitest watch` keeps the build of its start.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const apps = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps');
const BUILT = [
  // npm dependencies go into each bundle as in the app's `pnpm build` (apps/<app>/package.json).
  { app: 'migrator', env: 'VC_TEST_MIGRATOR_BIN', flags: ['--bundle-npm'] },
  { app: 'service', env: 'VC_TEST_SERVICE_BIN', flags: ['--bundle-npm'] },
];
const PREFIX = 'dist-test-';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Builds left by runs that ended without their teardown (killed): their vitest is gone. */
function removeOrphanedBuilds(dir) {
  for (const name of readdirSync(dir)) {
    const pid = name.startsWith(PREFIX) ? Number(name.slice(PREFIX.length)) : NaN;
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

export default function buildAppsForTests() {
  const outName = `${PREFIX}${process.pid}`;
  for (const { app, env, flags } of BUILT) {
    const dir = join(apps, app);
    removeOrphanedBuilds(dir);
    const built = spawnSync(process.execPath, ['../../scripts/build-app.mjs', ...flags, '--outdir', outName, 'src/bin.ts'], { cwd: dir, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building the ${app} for the tests failed (exit ${built.status}):\n${built.stdout}${built.stderr}`);
    // Set before vitest starts its workers, which inherit it.
    process.env[env] = join(dir, outName, 'bin.js');
  }
  // What test files of this run prepare once and share (apps/migrator/src/testing/pglite-after-s0.ts), removed with the build.
  const cache = mkdtempSync(join(tmpdir(), 'vc-test-cache-'));
  process.env.VC_TEST_CACHE_DIR = cache;
  return () => {
    for (const { app } of BUILT) rmSync(join(apps, app, outName), { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  };
}
