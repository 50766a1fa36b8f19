import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './demo/settings';

/**
 * `pnpm build` emits JavaScript production starts with plain `node` (README, "In production build once").
 * The bundle is only worth its name if it runs the real thing from dist/: the lazily imported commands
 * and phases, and the migrations found from the bundled schema code, far from packages/schema/drizzle.
 * The esbuild half of `pnpm build` runs here; its tsc half is `pnpm typecheck`, which CI runs.
 */
const work = mkdtempSync(join(tmpdir(), 'vc-build-'));

/** The esbuild command of each app's `pnpm build` script (apps/<app>/package.json). */
function buildArgs(app: 'migrator' | 'service'): string[] {
  const { scripts } = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', app, 'package.json'), 'utf8')) as { scripts: { build: string } };
  const esbuild = /node (\.\.\/\.\.\/scripts\/build-app\.mjs(?: \S+)+)$/.exec(scripts.build);
  if (!esbuild) throw new Error(`apps/${app}/package.json: its build script runs no scripts/build-app.mjs`);
  return esbuild[1]!.split(' ');
}

function bundle(app: 'migrator' | 'service'): void {
  const run = spawnSync(process.execPath, buildArgs(app), { cwd: join(REPO_ROOT, 'apps', app), encoding: 'utf8' });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
}

/** The built entry point with only PATH, HOME and `env`: no tsx, no loader, nothing inherited from the test. */
function start(app: 'migrator' | 'service', args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(REPO_ROOT, 'apps', app, 'dist', 'bin.js'), ...args], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, VC_LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 90_000,
  });
}

beforeAll(() => {
  bundle('migrator');
  bundle('service');
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the build', () => {
  it('starts the migrator from dist/: --version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', 'migrator', 'package.json'), 'utf8')) as { version: string };
    const run = start('migrator', ['--version']);
    expect([run.status, run.stdout.trim()]).toEqual([0, version]);
  });

  it('runs phase s0 from dist/ on an embedded database: every migration applied, then status reads it', () => {
    const env = { VC_DATABASE_URL: `pglite:${join(work, 'pg')}`, VC_KMS: `local:${join(work, 'kms.json')}` };
    const s0 = start('migrator', ['phase', 's0', '--json'], env);
    expect(s0.status, s0.stderr).toBe(0);
    const summary = JSON.parse(s0.stdout) as { status: string; steps: Array<{ id: string; status: string; facts: Record<string, unknown> }> };
    expect(summary.status).toBe('done');
    const database = summary.steps.find((s) => s.id === '0.1')?.facts.database as { migrationsApplied: number; migrationsTotal: number };
    expect(database.migrationsTotal).toBeGreaterThan(0);
    expect(database.migrationsApplied).toBe(database.migrationsTotal);
    const status = start('migrator', ['status', '--json'], env);
    expect(status.status, status.stderr).toBe(0);
  });

  it('starts the service from dist/: --help without configuration', () => {
    const run = start('service', ['--help']);
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(/^Usage: pnpm service \[--help\]\n/);
  });
});
