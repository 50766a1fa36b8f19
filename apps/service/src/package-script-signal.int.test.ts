import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vc-pnpm-service-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Polls `check` every 200 ms until it holds or `limitMs` passes; the limit only stops a hung test. */
async function until(check: () => Promise<boolean> | boolean, limitMs: number): Promise<boolean> {
  for (const end = Date.now() + limitMs; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await check()) return true;
  return false;
}

const answers = (port: number) =>
  fetch(`http://127.0.0.1:${port}/healthz`).then(
    () => true,
    () => false,
  );

describe('pnpm service under a supervisor', () => {
  it('a SIGTERM to `pnpm service` reaches the service: it stops listening (it would otherwise keep the port and the PGlite folder)', async () => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      VC_LISTEN_HOST: '127.0.0.1',
      VC_DATABASE_URL: `pglite:${join(dir, 'pg')}`,
      VC_KMS: `local:${join(dir, 'kms.json')}`,
      VC_AUTH_HS256_SECRET: 'package-script-signal-test-secret-32+',
    };
    const wrapper = spawn('pnpm', ['service'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    wrapper.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    wrapper.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // 'exit', not 'close': a service left running would hold the pipes open, and 'close' would never come.
    const exited = new Promise<void>((resolve) => wrapper.on('exit', () => resolve()));
    const listening = () => /"port":(\d+)[^\n]*virtual-care-service listening/.exec(output);
    expect(await until(() => listening() !== null, 180_000), output).toBe(true);
    const port = Number(listening()![1]);
    expect(await answers(port)).toBe(true);

    wrapper.kill('SIGTERM');
    await exited;
    expect(await until(async () => !(await answers(port)), 60_000), output).toBe(true);
  }, 300_000);
});
