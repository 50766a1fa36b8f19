#!/usr/bin/env node
// `pnpm test` (or `npm test`): installs what is missing, starts throwaway PostgreSQL 15, MariaDB and
// nats-server -js on free loopback ports, runs vitest against them, and stops them however the run ends.
// Already running servers? Set VC_TEST_POSTGRES_URL, VC_TEST_MYSQL_URL and VC_TEST_NATS_URL and none is started.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackages, ensureDependencies, log, root } from './lib/bootstrap.mjs';
import { debianPackages, debianTools, makeWorkDir, removeWorkDir, startMariadb, startNats, startPostgres } from './lib/services.mjs';

const wanted = [
  { env: 'VC_TEST_POSTGRES_URL', pkg: 'postgresql-15', start: startPostgres, name: 'PostgreSQL 15' },
  { env: 'VC_TEST_MYSQL_URL', pkg: 'mariadb-server', start: startMariadb, name: 'MariaDB' },
  { env: 'VC_TEST_NATS_URL', pkg: 'nats-server', start: startNats, name: 'nats-server -js' },
];

const running = [];
let workDir;
function cleanup() {
  for (const service of running.splice(0)) service.stop();
  if (workDir) removeWorkDir(workDir);
  workDir = undefined;
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

async function main() {
  ensureDependencies();
  const toStart = wanted.filter((w) => !process.env[w.env]);
  ensureDebianPackages([...debianPackages.filter((p) => toStart.some((w) => w.pkg === p.name)), ...debianTools]);
  const env = { ...process.env };
  if (toStart.length > 0) workDir = makeWorkDir('vc-test-');
  await Promise.all(
    toStart.map(async (w) => {
      const service = await w.start(workDir);
      running.push(service);
      env[w.env] = service.url;
      log(`${w.name} on 127.0.0.1:${service.port}`);
    }),
  );
  const vitest = join(root, 'node_modules', '.bin', 'vitest');
  const resultsDir = mkdtempSync(join(tmpdir(), 'vc-vitest-'));
  const results = join(resultsDir, 'results.json');
  const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)];
  const child = spawn(vitest, args, { cwd: root, env, stdio: 'inherit' });
  const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  cleanup();
  printClosingLine(results);
  rmSync(resultsDir, { recursive: true, force: true });
  process.exit(code);
}

/** One plain closing line that CI and humans read the same way: `tests: N passed, N failed`. */
function printClosingLine(file) {
  if (!existsSync(file)) return;
  const summary = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = summary.numPendingTests + summary.numTodoTests;
  // A file whose set-up (beforeAll) failed reports its tests as skipped, not failed: say so, or the line reads green.
  const broken = (summary.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  const notes = [skipped ? `${skipped} skipped` : '', broken ? `${broken} file(s) failed before their tests ran` : ''].filter(Boolean);
  process.stdout.write(`\ntests: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed${notes.map((n) => `, ${n}`).join('')}\n`);
}

main().catch((error) => {
  log(`test set-up failed: ${error.message}`);
  cleanup();
  process.exit(1);
});
