import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureFacts, type FixtureFacts } from './demo/fixture';
import type { ValidationSummary } from './demo/phase-results';
import { REPO_ROOT } from './demo/settings';

/**
 * `pnpm demo`, the real command in a child process, from a clean data directory: it must exit 0, and
 * its validation report must pass the healthy fixture tenants and fail the one broken on purpose.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'vc-demo-test-'));
let run: { code: number | null; stdout: string; stderr: string };
let facts: FixtureFacts;

/** `pnpm demo` where pnpm is installed; `npm run demo` (the same script) where only npm is. */
function demoCommand(): [string, string[]] {
  return spawnSync('pnpm', ['--version'], { stdio: 'ignore' }).status === 0 ? ['pnpm', ['demo']] : ['npm', ['run', 'demo']];
}

beforeAll(async () => {
  facts = await readFixtureFacts(join(REPO_ROOT, 'fixtures', 'legacy', 'csv'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VC_')));
  const [command, args] = demoCommand();
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...env, VC_DEMO_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  run = { code, stdout, stderr };
}, 900_000);

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('pnpm demo from a clean state', () => {
  it('exits 0 and says everything behaved as expected', () => {
    expect({ code: run.code, stderr: run.stderr.slice(-2000) }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(run.stdout).toContain('Everything behaved as expected');
    // The last line carries the duration the README quotes (its value is not asserted: machines differ).
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Everything behaved as expected \(demo took \d+ s\): /);
  });

  it('writes the validation report where it says: passing every healthy tenant, failing the tenants broken on purpose', () => {
    const report = JSON.parse(readFileSync(join(dataDir, 'reports', 'validation.json'), 'utf8')) as ValidationSummary;
    const healthy = facts.tenants.filter((t) => !facts.brokenTenants.includes(t));
    expect(healthy.length).toBeGreaterThan(0);
    expect(facts.brokenTenants).toEqual(['globex']);
    for (const tenant of healthy) {
      const checks = report.checks.filter((c) => c.tenant === tenant);
      expect(checks.length, tenant).toBeGreaterThan(0);
      expect(
        checks.filter((c) => c.status !== 'pass').map((c) => c.id),
        tenant,
      ).toEqual([]);
    }
    const globex = report.checks.filter((c) => c.tenant === 'globex');
    expect(globex.find((c) => c.id === 'configs.migrated')).toMatchObject({ status: 'fail', samples: ['TenantVirtualCareConfig:globex'] });
    expect(report.status).toBe('fail');
    expect(existsSync(join(dataDir, 'reports', 'validation.junit.xml'))).toBe(true);
    expect(existsSync(join(dataDir, 'reports', 'validation.md'))).toBe(true);
  });

  it('validates before S4 (its gate) and runs S4 past the gates of the broken tenant only, with --force --reason', () => {
    const validateAt = run.stdout.indexOf('▸ validate before S4');
    expect(validateAt).toBeGreaterThan(0);
    expect(validateAt).toBeLessThan(run.stdout.indexOf('▸ S4:'));
    expect(run.stdout).toMatch(/\$ pnpm migrator phase s4 --all-tenants .*--force --reason "demo: globex is broken on purpose/);
    expect(run.stdout).toContain("expected: globex's gates overridden (s2-go, validate-pass): its traffic moves with the gateway-wide Kong cutover");
    expect(run.stdout).not.toMatch(/expected: (acme|initech|umbrella)'s gates overridden/);
  });

  it('creates the Encounters legacy never made, with no FHIR era shortcut', () => {
    expect(run.stdout).toMatch(/FHIR Encounters created for migrated ended sessions legacy left without one \(S2 2\.4, S4 4\.1\): [1-9]\d*/);
    expect(run.stdout).not.toContain('FHIR era starts');
  });

  it('walks the live session to an Encounter created by the relay', () => {
    expect(run.stdout).toMatch(/POST \/sessions\/:id\/join as the patient .* → 200/);
    expect(run.stdout).toMatch(/FHIR stand-in: Encounter\/[A-Za-z0-9-]+ created/);
  });

  it('prints no patient reference and no secret', () => {
    const output = run.stdout + run.stderr;
    expect(output.match(/Patient\/p-\d+/g) ?? []).toEqual([]);
    expect(output.includes(facts.legacyMasterKey)).toBe(false);
    expect(output.match(/eyJ[A-Za-z0-9_-]{10,}\./g) ?? []).toEqual([]);
  });
});
