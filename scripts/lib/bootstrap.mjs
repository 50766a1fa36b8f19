// Zero-dependency bootstrap shared by `pnpm test` and `pnpm demo`: it must run before `pnpm install`
// has ever happened, on a machine with only Node 20 and npm.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PNPM_VERSION = '12.4.2';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function log(message) {
  process.stderr.write(`[virtual-care] ${message}\n`);
}

export function which(command) {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The pnpm command to run: the one running us, the one on PATH, or a freshly installed one. */
export function pnpmCommand() {
  if (process.env.npm_execpath && /pnpm/.test(process.env.npm_execpath)) return [process.execPath, [process.env.npm_execpath]];
  if (which('pnpm')) return ['pnpm', []];
  log(`pnpm is missing: installing pnpm@${PNPM_VERSION} with npm`);
  const global = isRoot || process.env.VC_INSTALL_GLOBAL === '1';
  if (global) {
    execFileSync('npm', ['install', '-g', `pnpm@${PNPM_VERSION}`], { stdio: ['ignore', 2, 2] });
    return ['pnpm', []];
  }
  return ['npx', ['-y', `pnpm@${PNPM_VERSION}`]];
}

/** Installs the workspace's dependencies when they are missing or older than the lockfile. */
export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.modules.yaml');
  if (existsSync(marker) && existsSync(join(root, 'node_modules', '.bin', 'vitest'))) return;
  const [command, prefix] = pnpmCommand();
  log('installing dependencies (pnpm install --frozen-lockfile)');
  execFileSync(command, [...prefix, 'install', '--frozen-lockfile'], { cwd: root, stdio: ['ignore', 2, 2] });
}

/** Installs Debian packages that are missing, when we may (root); otherwise says what to install. */
export function ensureDebianPackages(packages) {
  const missing = packages.filter((p) => !p.present());
  if (missing.length === 0) return;
  const names = missing.map((p) => p.name);
  if (!isRoot || !which('apt-get')) {
    throw new Error(`missing ${names.join(', ')}: install them, or point the suite at running servers (see README)`);
  }
  log(`installing Debian packages: ${names.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 2, 2], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { stdio: ['ignore', 2, 2], env });
}
