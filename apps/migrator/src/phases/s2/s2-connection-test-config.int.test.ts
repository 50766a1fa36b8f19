import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFhirStandIn, type FhirStandIn } from '@vc/integrations/fhir';
import { startJitsiStandIn, type JitsiStandIn } from '@vc/integrations/jitsi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCsvTarget, type CsvTarget } from '../../testing/csv-target';
import { runInProcess } from '../s4/testing/in-process-cli';

/**
 * S2 2.2 stores its test result on the migrated config. That write is the migrator's own, not the
 * service's, so the config must stay the migration's (docs/design.md: only a config the service wrote —
 * `PUT /config` bumps its version, or one it created later than legacy's updatedAt — is kept by a re-run of S1
 * 1.3 with warning `config_changed_by_service`, and left out of validate's `fingerprints.configs`). Here the
 * tenant's Jitsi was deployed at the URL legacy already had (plan 2.1), so nobody ever PUT the config.
 */
const AS_OF = '2026-11-01T00:00:00Z';

let target: CsvTarget;
let jitsi: JitsiStandIn, fhir: FhirStandIn;
let env: Record<string, string>;

const json = async (...args: string[]) => {
  const result = await runInProcess([...args, '--tenant', 'acme', '--json'], env);
  expect(result.code, result.error).toBe(0);
  return JSON.parse(result.stdout) as { warnings: Record<string, number>; steps: Array<{ id: string; warnings: number }> };
};

beforeAll(async () => {
  [target, jitsi, fhir] = await Promise.all([
    openCsvTarget('vc-s2-config-', { tenants: 1, sessions: 20, auditPerSession: 1, seed: 67, asOf: AS_OF }),
    startJitsiStandIn(),
    startFhirStandIn(),
  ]);
  env = { ...target.env, VC_LOG_LEVEL: 'silent', VC_FHIR_BASE_URL: fhir.url, VC_MODE: 'shadow' };
  // Legacy's config already names the deployment 2.1 stood up: S1 migrates that URL, no PUT /config is needed.
  const configCsv = join(target.env.VC_LEGACY_EXPORT_DIR!, 'TenantVirtualCareConfig.csv');
  const text = await readFile(configCsv, 'utf8');
  expect(text).toContain('https://meet.acme.example.test');
  await writeFile(configCsv, text.replace('https://meet.acme.example.test', jitsi.url));
  await json('phase', 's1', '--as-of', AS_OF, '--max-reject-rate', '0.5');
}, 300_000);

afterAll(async () => {
  await Promise.all([target?.close(), jitsi?.close(), fhir?.close()]);
});

describe('S2 2.2 leaves the migrated config the migration’s', { timeout: 180_000 }, () => {
  it('a re-run of S1 1.3 after S2 does not take the config for one the service changed', async () => {
    await json(
      'phase',
      's2',
      '--as-of',
      AS_OF,
      '--window',
      '14d',
      '--report-dir',
      join(target.work, 'reports'),
      '--min-parallel-pairs',
      '0',
      '--max-reject-rate',
      '1',
    );
    const { rows } = await target.client.query<{ version: number; tested: boolean }>(
      "select version, last_connection_test is not null as tested from tenant_virtual_care_configs where tenant_id = 'acme'",
    );
    expect(rows).toEqual([{ version: 1, tested: true }]);

    const rerun = await json('phase', 's1', '--as-of', AS_OF, '--restart-step', '1.3', '--max-reject-rate', '0.5');
    expect(rerun.warnings.config_changed_by_service, 'nobody but the migrator wrote this config').toBeUndefined();
  });
});
