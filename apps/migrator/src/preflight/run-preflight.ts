import { existsSync } from 'node:fs';
import { parseDatabaseUrl, type DatabaseHandle } from '@vc/schema';
import type { MigratorConfig } from '../config';
import { openTarget } from '../commands/target';
import type { Logger } from '../logger';
import { countAndEstimate, type S1Estimate, type TenantCounts } from './estimate';
import { kmsChecks } from './kms';
import { legacyChecks } from './legacy';
import { outsideChecks } from './outside';
import { targetChecks } from './target';
import { fail, pass, safeReason, skip, type CheckOutcome } from './types';

function absentPgliteDir(config: MigratorConfig): string | undefined {
  const target = parseDatabaseUrl(config.VC_DATABASE_URL);
  return target.kind === 'pglite' && target.dataDir !== undefined && !existsSync(target.dataDir) ? target.dataDir : undefined;
}

export interface PreflightReport {
  status: 'pass' | 'fail';
  tenants: string[];
  checks: CheckOutcome[];
  counts: TenantCounts[];
  estimate?: S1Estimate;
}

export interface PreflightOptions {
  /** `--tenant`; every legacy tenant when absent. */
  tenant?: string;
  /** `--rate`: S1 source rows per second for the estimate. */
  rate?: number;
}

/**
 * Every preflight check, in the order an operator fixes things: the target, the legacy sources and
 * tenants, KMS and credentials, the outside systems, then counts and the S1 estimate. Nothing is written
 * anywhere; each system is asked only what proves it usable with the credentials configured.
 */
export async function runPreflight(config: MigratorConfig, log: Logger, opts: PreflightOptions): Promise<PreflightReport> {
  let handle: DatabaseHandle | undefined;
  const checks: CheckOutcome[] = [];
  const unborn = absentPgliteDir(config);
  if (unborn) {
    // Opening PGlite would create the directory: preflight writes nothing, so it reports instead.
    checks.push(
      pass('target.reachable', `PGlite directory ${unborn} absent: S0 creates it`),
      fail('target.schema', 's0 not applied (no database yet): run `migrator phase s0`'),
    );
  } else {
    try {
      handle = await openTarget(config);
    } catch (error) {
      checks.push(fail('target.reachable', `VC_DATABASE_URL: ${safeReason(error)}`));
    }
  }
  try {
    if (handle) checks.push(...(await targetChecks(handle, config)));
    const migrated = checks.some((c) => c.id === 'target.schema' && c.status === 'pass');
    const legacy = await legacyChecks({ config, log }, opts.tenant);
    checks.push(...legacy.outcomes);
    const ctx = { config, log, tenants: legacy.tenants };
    try {
      checks.push(
        ...(await kmsChecks(
          ctx,
          legacy.source,
          migrated ? handle : undefined,
          checks.some((c) => c.id === 'target.schema') ? 'the target is not migrated (target.schema)' : 'the target database is not reachable',
        )),
      );
      checks.push(...(await outsideChecks(ctx)));
      const counted = legacy.source && legacy.tenants.length ? await countAndEstimate(legacy.source, legacy.tenants, opts.rate) : undefined;
      checks.push(counted?.outcome ?? skip('legacy.counts', 'no tenant to count (the legacy source or the tenant check failed)'));
      return {
        status: checks.some((c) => c.status === 'fail') ? 'fail' : 'pass',
        tenants: legacy.tenants,
        checks,
        counts: counted?.counts ?? [],
        ...(counted?.estimate ? { estimate: counted.estimate } : {}),
      };
    } finally {
      await legacy.source?.close();
    }
  } finally {
    await handle?.close();
  }
}
