// vitest globalSetup: builds the migrator once per test run into apps/migrator/dist-test/, and the tests that run
// the CLI as a child process (apps/migrator/src/testing/run-cli.ts) start that build with plain node. Under tsx
// every start transformed and resolved each module through its loader: 2.3 CPU s against 0.8 for the build, and
// the suite starts the CLI several hundred times. The build is what production runs (scripts/build-app.mjs); the
// tests that pin the operator's own entry (bin/migrator.mjs under a terminal) still start that.
// Rebuilt at every `vitest run`; a long `vitest watch` keeps the build of its start.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const migrator = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'migrator');

export default function buildMigratorForTests() {
  const built = spawnSync(process.execPath, ['../../scripts/build-app.mjs', '--outdir', 'dist-test', 'src/bin.ts'], { cwd: migrator, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`building the migrator for the tests failed (exit ${built.status}):\n${built.stdout}${built.stderr}`);
}
