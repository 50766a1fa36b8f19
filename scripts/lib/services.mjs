// Throwaway PostgreSQL 15, MariaDB and nats-server on free loopback ports, for tests and benchmarks.
// Each start returns { url, stop }; stop() is safe to call twice.
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRoot, which } from './bootstrap.mjs';

export const PG_BIN = process.env.VC_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export const debianPackages = [
  { name: 'postgresql-15', present: () => existsSync(join(PG_BIN, 'postgres')) },
  { name: 'mariadb-server', present: () => Boolean(which('mariadbd') || existsSync('/usr/sbin/mariadbd')) },
  { name: 'nats-server', present: () => Boolean(which('nats-server')) },
];

/** Tools the tests run themselves, whatever servers are given: xmllint checks the JUnit reports against their schemas. */
export const debianTools = [{ name: 'libxml2-utils', present: () => Boolean(which('xmllint')) }];

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, what, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} before listening`);
    const ok = await new Promise((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function asPostgres(args) {
  // initdb and postgres refuse to run as root.
  return isRoot ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)];
}

export function makeWorkDir(prefix = 'vc-services-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return dir;
}

export async function startPostgres(workDir, { settings = [] } = {}) {
  const data = join(workDir, 'pg');
  const sock = join(workDir, 'pgsock');
  mkdirSync(data, { recursive: true });
  mkdirSync(sock, { recursive: true });
  if (isRoot) {
    execFileSync('chown', ['-R', 'postgres:postgres', data, sock]);
    chownSync(workDir, 0, 0);
    execFileSync('chmod', ['755', workDir]);
  }
  const [cmd, args] = asPostgres([join(PG_BIN, 'initdb'), '-D', data, '-A', 'trust', '-N', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8']);
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await freePort();
  const opts = [
    '-p',
    port,
    '-k',
    sock,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
    ...settings.flatMap((s) => ['-c', s]),
  ].join(' ');
  const [c2, a2] = asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-l', join(sock, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start']);
  execFileSync(c2, a2, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      if (stopped) return;
      stopped = true;
      const [c3, a3] = asPostgres([join(PG_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
      try {
        execFileSync(c3, a3, { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
}

export async function startMariadb(workDir) {
  const data = join(workDir, 'mariadb');
  mkdirSync(data, { recursive: true });
  // Its own temporary directory: on a shared /tmp, another process's cleanup removed an on-disk temp table mid-query.
  const scratch = join(workDir, 'mariadb-tmp');
  mkdirSync(scratch, { recursive: true });
  const installer = which('mariadb-install-db') ?? 'mysql_install_db';
  execFileSync(
    installer,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--user=${isRoot ? 'root' : (process.env.USER ?? 'nobody')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await freePort();
  const server = which('mariadbd') ?? '/usr/sbin/mariadbd';
  const child = spawn(
    server,
    [
      '--no-defaults',
      ...(isRoot ? ['--user=root'] : []),
      `--datadir=${data}`,
      `--port=${port}`,
      `--socket=${join(workDir, 'mariadb.sock')}`,
      `--tmpdir=${scratch}`,
      '--bind-address=127.0.0.1',
      '--skip-log-bin',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-buffer-pool-size=512M',
      '--max-connections=300',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      `--log-error=${join(workDir, 'mariadb.err')}`,
    ],
    { stdio: 'ignore', detached: false },
  );
  await waitForPort(port, 'mariadbd', child, 60_000);
  return {
    url: `mysql://root@127.0.0.1:${port}`,
    port,
    stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export async function startNats(workDir) {
  const store = join(workDir, 'nats');
  mkdirSync(store, { recursive: true });
  const port = await freePort();
  const child = spawn(which('nats-server') ?? 'nats-server', ['-js', '-sd', store, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForPort(port, 'nats-server', child);
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

export function removeWorkDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}
