import { isDeepStrictEqual } from 'node:util';
import { createCsvSource } from '../../../legacy/csv-source';
import { createMysqlSource } from '../../../legacy/mysql-source';
import type { LegacySource } from '../../../legacy/types';
import { fingerprintChecks, tenantFingerprints } from '../../../validate/fingerprints';
import { streamedFingerprints } from '../../../validate/streamed-fingerprints';
import { s1Watermark } from '../../../validate/watermark';
import { runInProcess } from './in-process-cli';
import type { LegacyHarness } from './legacy-harness';

/**
 * Test support for the participant folds over one legacy harness: the three ways S1 1.4 reads legacy (a CSV export,
 * MariaDB row by row, MariaDB with the pushdown), a CLI run against one of them, and validate's participants
 * fingerprint as `migrator validate` compares it.
 */
export const FOLD_KINDS = ['csv', 'mysql', 'pushdown'] as const;
export type FoldKind = (typeof FOLD_KINDS)[number];

/** Getters: a test file declares these in a describe block, before its beforeAll starts the harness and exports the CSV. */
export function foldSources(harness: () => LegacyHarness, csvDir: () => string) {
  const env = (kind: FoldKind): Record<string, string> =>
    kind === 'csv'
      ? { VC_LEGACY_EXPORT_DIR: csvDir() }
      : { VC_LEGACY_DATABASE_URL: harness().legacy.url, ...(kind === 'pushdown' ? { VC_LEGACY_PUSHDOWN: 'on' } : {}) };
  const source = (kind: FoldKind): LegacySource => (kind === 'csv' ? createCsvSource(csvDir()) : createMysqlSource(harness().legacy.url));
  return { env, source };
}

/** `migrator <args> --tenant <tenant>` in process, every reject allowed, `--json`. */
export const phaseRun = (harness: LegacyHarness, tenant: string, source: Record<string, string>, ...args: string[]) =>
  runInProcess([...args, '--tenant', tenant, '--max-reject-rate', '1', '--json'], { ...harness.env, ...source });

/** validate's participants fingerprint, by id and (MariaDB) streamed, as `migrator validate` compares them. */
export async function participantsFingerprint(harness: LegacyHarness, tenant: string, source: LegacySource) {
  const watermark = (await s1Watermark(harness.handle.db, tenant))!;
  const checks = fingerprintChecks(tenant, await tenantFingerprints(harness.handle.db, source, tenant, watermark, 2));
  const byId = checks.find((c) => c.id === 'fingerprints.participants')!.status;
  if (source.kind === 'csv') return { byId };
  const streamed = (await streamedFingerprints(harness.handle.db, source, tenant, watermark, 2)).participants;
  return { byId, streamedAgrees: streamed.complete && isDeepStrictEqual(streamed.legacy, streamed.target) };
}
