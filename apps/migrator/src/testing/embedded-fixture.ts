import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The committed legacy CSV export (fixtures/legacy/csv) and the master key its credentials were sealed with. */
export const FIXTURE_CSV = fileURLToPath(new URL('../../../../fixtures/legacy/csv', import.meta.url));
export const FIXTURE_MASTER_KEY = (JSON.parse(readFileSync(join(FIXTURE_CSV, 'expected.json'), 'utf8')) as { legacyMasterKey: string }).legacyMasterKey;

/**
 * Test support: what a newcomer runs first — a PGlite target and a local KMS keyring in a fresh directory, the
 * fixture export as legacy, and an access-policy address nothing listens on (its checks error, they do not hang).
 * Called at the top of a test file: the directory is removed after that file's tests, or every run left one in /tmp.
 */
export function embeddedFixture(prefix: string): { dir: string; target: Record<string, string>; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const target = { VC_DATABASE_URL: `pglite:${dir}/pg`, VC_KMS: `local:${dir}/kms.json` };
  return {
    dir,
    target,
    env: { ...target, VC_LEGACY_EXPORT_DIR: FIXTURE_CSV, VC_LEGACY_MASTER_KEY: FIXTURE_MASTER_KEY, VC_ACCESS_POLICY_URL: 'http://127.0.0.1:9' },
  };
}
