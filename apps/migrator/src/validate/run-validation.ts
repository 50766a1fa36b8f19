import { CHECK_IDS, checkError, type CheckId, type CheckResult } from '@vc/domain/checklist';
import type { Database } from '@vc/schema';
import { legacyTenantList } from '../engine/known-tenants';
import type { ReadLock } from '../engine/read-lock';
import type { AccessPolicyClient, FhirClient } from '../engine/ports';
import type { LegacySource } from '../legacy/types';
import { assertNoPhi, buildValidationReport, checkKey, type ValidationReport } from '../reports/index';
import { checkBilling } from './billing';
import { checkConfig } from './configs';
import { checkConsents } from './consents';
import { checkEncounters } from './encounters';
import { fingerprintChecks, tenantFingerprints, type TableFingerprint } from './fingerprints';
import { SessionTally } from './session-tally';
import { checkHistoricalStatus, checkSessionCounts } from './sessions';
import { runTargetCounts, type TargetCountsOf } from './target-counts';
import { s1Watermark } from './watermark';

export interface ValidationDeps {
  db: Database;
  legacy: LegacySource;
  portal: LegacySource;
  accessPolicy: AccessPolicyClient;
  /** When FHIR is configured: every Encounter the check relies on is looked up there too. */
  fhir?: () => Promise<FhirClient>;
  /** The instant "recent" and consent decisions are judged at. */
  asOf: Date;
  batchSize: number;
  /** When given, each tenant's reconciliation fingerprints are kept here too (the evidence pack writes them). */
  fingerprints?: Map<string, TableFingerprint[]>;
  /** Holds the tenants against the runs that write them while they are read (engine/read-lock.ts). */
  lockForReading?: (tenants: readonly string[]) => Promise<ReadLock>;
}

/** A validation run: the report, when it started, how long each check and each tenant took (for the JUnit report). */
export interface ValidationRun {
  report: ValidationReport;
  startedAt: Date;
  seconds: Map<string, number>;
  /** Wall seconds per tenant (some of its checks run side by side, so their seconds overlap). */
  tenantSeconds: Map<string, number>;
}

/** Why a check could not complete, as a report may carry it: the message when it is free of PHI, else its kind. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  try {
    assertNoPhi(message);
    return message;
  } catch {
    return error instanceof Error ? error.name : 'unknown error';
  }
}

/**
 * Runs one check (or the pair `checkConfig` gives), timing it. A check that throws (FHIR or
 * access-policy unreachable after retries, …) becomes an `error` result naming the reason, so the
 * other checks and tenants still run and the report is still written.
 */
async function timed(
  ids: readonly CheckId[],
  tenantId: string,
  seconds: Map<string, number>,
  run: () => Promise<CheckResult | CheckResult[]>,
): Promise<CheckResult[]> {
  const started = performance.now();
  let results: CheckResult[];
  try {
    const result = await run();
    results = Array.isArray(result) ? result : [result];
  } catch (error) {
    results = ids.map((id) => checkError(id, tenantId, reasonOf(error)));
  }
  const elapsed = (performance.now() - started) / 1000 / results.length;
  for (const r of results) seconds.set(checkKey(tenantId, r.id), elapsed);
  return results;
}

/**
 * The plan's §5 checklist for one tenant, in plan order. The checks only read (legacy, the target, FHIR,
 * access-policy) and none needs another's result. All but the fingerprints wait mostly on round trips
 * (FHIR, access-policy, one indexed look-up per legacy batch), so they run side by side; the fingerprints,
 * which keep this process busy hashing and folding, run after them: beside them, they made every other
 * check's round trip wait behind a batch's work. Each check's seconds are its own wall time.
 */
export async function validateTenant(
  deps: ValidationDeps,
  tenantId: string,
  seconds = new Map<string, number>(),
  countsOf?: TargetCountsOf,
): Promise<CheckResult[]> {
  let watermark: Date | undefined;
  const watermarkRead = await s1Watermark(deps.db, tenantId).then(
    (w) => ((watermark = w), undefined),
    (error: unknown) => error,
  );
  const needsWatermark = async <T>(fn: () => Promise<T>) => {
    if (watermarkRead !== undefined) throw watermarkRead;
    return fn();
  };
  // On MySQL after S1, `sessions.reconciled` is tallied by the fingerprints' pass over the same legacy rows
  // (one read of the tenant's sessions, not two); should that pass fail, the check reads on its own.
  const tally = watermark && deps.legacy.kind === 'mysql' ? SessionTally.of(deps.db, deps.legacy, tenantId, watermark) : undefined;
  tally?.catch(() => undefined);
  const reconciledAlone = () =>
    timed(['sessions.reconciled'], tenantId, seconds, () =>
      needsWatermark(() => checkSessionCounts(deps.db, deps.legacy, tenantId, watermark, deps.batchSize)),
    );
  const checks = await Promise.all([
    tally ? Promise.resolve([]) : reconciledAlone(),
    timed(['sessions.status'], tenantId, seconds, () => needsWatermark(() => checkHistoricalStatus(deps.db, tenantId, watermark))),
    timed(['configs.migrated', 'configs.test_connection'], tenantId, seconds, () => checkConfig(deps.db, deps.legacy, tenantId)),
    timed(['encounters.ended_sessions'], tenantId, seconds, () => checkEncounters(deps.db, tenantId, deps.fhir)),
    timed(['consents.accessible'], tenantId, seconds, () => checkConsents(deps.portal, deps.accessPolicy, tenantId, deps.asOf, deps.batchSize)),
    timed(['billing.recent_sessions'], tenantId, seconds, () => checkBilling(deps.db, deps.legacy, tenantId, deps.asOf, deps.batchSize)),
  ]);
  // Before S1 there is nothing to fingerprint: sessions.reconciled already names every row missing.
  if (watermark) {
    const at = watermark;
    const fed = tally?.then(
      (t) => t,
      () => undefined,
    );
    checks.push(
      await timed(['fingerprints.sessions', 'fingerprints.configs', 'fingerprints.participants'], tenantId, seconds, async () => {
        const fingerprints = await tenantFingerprints(deps.db, deps.legacy, tenantId, at, deps.batchSize, await fed, countsOf);
        deps.fingerprints?.set(tenantId, fingerprints);
        return fingerprintChecks(tenantId, fingerprints);
      }),
    );
    const ended = await fed;
    if (tally) checks[0] = ended?.ended ? await timed(['sessions.reconciled'], tenantId, seconds, async () => ended.result(tenantId)) : await reconciledAlone();
  }
  return checks.flat();
}

/** Every tenant's checklist, as the `validate --json` report, with the run's timings. */
export async function runValidation(deps: ValidationDeps, tenants: readonly string[]): Promise<ValidationRun> {
  const startedAt = new Date();
  const seconds = new Map<string, number>();
  const tenantSeconds = new Map<string, number>();
  const checks: CheckResult[] = [];
  // Before anything is read, the counts below included: a tenant a run is writing gets errors, not a verdict.
  const lock = await deps.lockForReading?.(tenants);
  try {
    // The target's per-tenant counts the fingerprints compare with: one scan of the run's tables, not one per tenant.
    const countsOf = tenants.length > 1 ? runTargetCounts(deps.db) : undefined;
    for (const tenant of tenants) {
      const started = performance.now();
      const refused = lock?.refused.get(tenant);
      if (refused) checks.push(...CHECK_IDS.map((id) => checkError(id, tenant, reasonOf(refused))));
      else {
        const results = await validateTenant(deps, tenant, seconds, countsOf);
        // The connection holding the tenants was lost: from here on nothing kept writers out.
        const lost = lock?.lost();
        checks.push(...(lost ? CHECK_IDS.map((id) => checkError(id, tenant, reasonOf(lost))) : results));
      }
      tenantSeconds.set(tenant, (performance.now() - started) / 1000);
    }
  } finally {
    await lock?.release();
  }
  return { report: buildValidationReport(checks), startedAt, seconds, tenantSeconds };
}

/** `--all-tenants`: every tenant legacy knows, from its sessions and its configs. */
export async function legacyTenants(legacy: LegacySource): Promise<string[]> {
  return legacyTenantList(legacy);
}
