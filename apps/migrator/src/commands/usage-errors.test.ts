import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeCli } from '../cli';
import { exitCodeOf, type ExitCode } from '../exit-error';

/**
 * Usage and configuration errors through the real commands, in process: each must end the command with
 * exit 2 before it opens anything. The target is a PostgreSQL URL nothing listens on, so a check that
 * let a command through would fail differently (a connection error), never touch a database.
 */
async function exitOf(args: readonly string[]): Promise<{ exitCode: ExitCode; message: string }> {
  const argv = ['node', 'migrator', ...args];
  const program = await makeCli(argv);
  const error = await program.parseAsync(argv).then(
    () => new Error(`migrator ${args.join(' ')} succeeded`),
    (e: unknown) => e,
  );
  const exitCode = exitCodeOf(error);
  if (exitCode !== undefined) return { exitCode, message: (error as Error).message };
  throw error;
}

const LEGACY = { VC_LEGACY_EXPORT_DIR: 'fixtures/legacy/csv', VC_LEGACY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') };

beforeEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('VC_')) vi.stubEnv(key, undefined);
  vi.stubEnv('VC_DATABASE_URL', 'postgres://nobody@127.0.0.1:1/nothing');
});
afterEach(() => vi.unstubAllEnvs());

function setEnv(env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
}

describe('a malformed flag is exit 2 naming the flag and the form expected', () => {
  it.each([
    [['phase', 's2', '--tenant', 'acme', '--window', '3x'], '--window expects a positive duration like 90m, 36h, 14d or 2w, got "3x"'],
    [['phase', 's2', '--tenant', 'acme', '--window', '0d'], '--window expects a positive duration'],
    [['phase', 's2', '--tenant', 'acme', '--window', '99999999999999d'], '--window must be at most 3650d (ten years), got "99999999999999d"'],
    [['phase', 's1', '--tenant', 'acme', '--as-of', '2026-02-30'], '--as-of must be an ISO-8601 instant'],
    [['phase', 's1', '--tenant', 'acme', '--as-of', '2026-11-01T00:00:00'], '--as-of must be an ISO-8601 instant (e.g. 2026-01-01T00:00:00Z'],
    [['phase', 's1', '--tenant', 'acme', '--batch-size', '1e3'], '--batch-size must be a positive integer, got "1e3"'],
    [['phase', 's3', '--tenant', 'acme', '--concurrency', '0'], '--concurrency must be a positive integer, got "0"'],
    [['phase', 's1', '--tenant', 'acme', '--max-reject-rate', ''], '--max-reject-rate must be a fraction between 0 and 1'],
    [['phase', 's1', '--tenant', 'acme', '--restart-step', '2.3'], '--restart-step expects a step id of s1 (1.1, 1.2, 1.3, 1.4, 1.5), got "2.3"'],
    [['phase', 's4', '--tenant', 'acme', '--service-upstream', 'virtual-care:8080'], '--service-upstream expects an http(s):// URL'],
    [['phase', 's4', '--tenant', 'acme', '--legacy-service', 'digital communication'], '--legacy-service expects a Kong service name'],
    [['phase', 's4', '--tenant', 'acme', '--force'], '--force needs --reason "<why>": an override is recorded in the run ledger'],
    [['phase', 's2', '--all-tenants', '--force', '--reason', ''], '--force needs --reason "<why>"'],
    [['phase', 's4', '--tenant', 'acme', '--reason', 'early'], '--reason is taken only with --force'],
    [['enqueue', 'phase', 's3', '--all-tenants', '--force'], '--force needs --reason "<why>"'],
    [['phase', 's3', '--tenant', 'acme', '--all-tenants'], 'give either --tenant <id> or --all-tenants, not both'],
    [['phase', 's3'], 'phase s3 needs --tenant <id> or --all-tenants'],
    [['phase', 's0', '--tenant', 'acme'], 'phase s0 runs once for the whole platform: it takes no --tenant or --all-tenants'],
    [['phase', 's9'], 'unknown phase "s9" (expected one of s0, s1, s2, s3, s4)'],
    [['validate', '--tenant', 'acme', '--report', 'json,html'], '--report expects a comma list of json|junit|md, got "html"'],
    [['validate', '--tenant', 'acme', '--as-of', 'yesterday'], '--as-of must be an ISO-8601 instant'],
    [['validate', '--tenant', 'acme', '--batch-size', 'many'], '--batch-size must be a positive integer'],
    [['rejects', '--tenant', 'acme', '--limit', 'all'], '--limit must be a positive integer, got "all"'],
    [['rejects', '--tenant', 'acme', '--phase', 's7'], '--phase expects one of s0, s1, s2, s3, s4, got "s7"'],
    [['rollback', 's1', '--tenant', 'acme'], 'only s4 can be rolled back'],
    [
      [
        'tenant',
        'onboard',
        '--tenant',
        'x',
        '--service-url',
        'vc.internal',
        '--jitsi-url',
        'https://meet.x',
        '--jitsi-app-id',
        'x',
        '--jitsi-secret-file',
        's',
        '--token-secret-file',
        't',
      ],
      '--service-url expects an http(s):// URL',
    ],
    [
      [
        'tenant',
        'onboard',
        '--tenant',
        'x',
        '--service-url',
        'https://vc',
        '--jitsi-url',
        'https://meet.x',
        '--jitsi-app-id',
        'x',
        '--jitsi-secret-file',
        's',
        '--token-secret-file',
        't',
        '--encounter-timeout',
        '30s',
      ],
      '--encounter-timeout expects milliseconds',
    ],
  ])('migrator %j', async (args, message) => {
    setEnv(LEGACY);
    const error = await exitOf(args);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(message);
  });
});

describe('a missing setting is exit 2 before the command opens anything', () => {
  it.each([
    [['phase', 's1', '--tenant', 'acme'], {}, ['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR', 'VC_LEGACY_MASTER_KEY', 'VC_LEGACY_KMS']],
    [['phase', 's1', '--tenant', 'acme', '--dry-run'], { VC_LEGACY_EXPORT_DIR: 'fixtures/legacy/csv' }, ['VC_LEGACY_MASTER_KEY', 'VC_LEGACY_KMS']],
    [['phase', 's2', '--all-tenants'], LEGACY, ['VC_FHIR_BASE_URL']],
    [['phase', 's3', '--tenant', 'acme'], LEGACY, ['VC_ACCESS_POLICY_URL']],
    [['phase', 's3', '--tenant', 'acme'], { VC_ACCESS_POLICY_URL: 'http://ap' }, ['VC_PORTAL_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR']],
    [['phase', 's4', '--tenant', 'acme'], { VC_FHIR_BASE_URL: 'http://fhir' }, ['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR']],
    [['validate', '--tenant', 'acme'], LEGACY, ['VC_ACCESS_POLICY_URL']],
    [
      [
        'tenant',
        'onboard',
        '--tenant',
        'x',
        '--service-url',
        'https://vc',
        '--jitsi-url',
        'https://meet.x',
        '--jitsi-app-id',
        'x',
        '--jitsi-secret-file',
        's',
        '--token-secret-file',
        't',
      ],
      {},
      ['VC_LICENSING_URL', 'VC_FHIR_BASE_URL'],
    ],
  ] as const)('migrator %j with %j', async (args, env, variables) => {
    setEnv(env);
    const error = await exitOf(args);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/^missing configuration:/);
    for (const variable of variables) expect(error.message).toMatch(new RegExp(`${variable} \\(expected [^)]+`));
  });
});
