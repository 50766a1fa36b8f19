/**
 * The plan's §5 data-validation checklist as verdicts over numbers and legacy ids. The migrator gathers
 * the facts (queries, probes); these rules decide pass or fail, so the decision is the same in CI, in a
 * runbook and in a test.
 */

/** The checks of plan §5, one id each (stable: CI gates and runbooks name them). */
export const CHECK_IDS = [
  'sessions.reconciled',
  'sessions.status',
  'configs.migrated',
  'configs.test_connection',
  'encounters.ended_sessions',
  'consents.accessible',
  'billing.recent_sessions',
  'fingerprints.sessions',
  'fingerprints.configs',
  'fingerprints.participants',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** A value a report may carry: counts, flags, codes. Never free text that could hold PHI. */
export type CheckValue = number | boolean | string | null | { [key: string]: CheckValue };

/**
 * One row of `migrator validate --json`. `samples` are `<Entity>:<legacy id>` strings only. `error`: the
 * check could not complete (e.g. FHIR did not answer after retries); `actual.error` says why.
 */
export interface CheckResult {
  id: CheckId;
  tenant: string;
  status: 'pass' | 'fail' | 'error';
  expected: CheckValue;
  actual: CheckValue;
  samples: string[];
}

/** How many offending legacy ids a check reports: enough to start an investigation, small enough to read. */
export const MAX_SAMPLES = 10;

function result(id: CheckId, tenant: string, ok: boolean, expected: CheckValue, actual: CheckValue, samples: readonly string[]): CheckResult {
  return { id, tenant, status: ok ? 'pass' : 'fail', expected, actual, samples: samples.slice(0, MAX_SAMPLES) };
}

/**
 * loaded + rejected + deferred must equal what legacy holds: nothing lost, nothing invented. `unread` are
 * malformed source records no phase rejected (`VirtualSession.csv:42`): unaccounted for, sampled first
 * (they are few and their location is all a report may say of them).
 */
export function reconcileSessions(
  tenant: string,
  counts: { legacy: number; loaded: number; rejected: number; deferred: number },
  missingLegacyIds: readonly string[],
  unread: readonly string[] = [],
): CheckResult {
  const accounted = counts.loaded + counts.rejected + counts.deferred;
  return result(
    'sessions.reconciled',
    tenant,
    accounted === counts.legacy && missingLegacyIds.length === 0 && unread.length === 0,
    { legacy: counts.legacy },
    { loaded: counts.loaded, rejected: counts.rejected, deferred: counts.deferred, accounted, ...(unread.length ? { unread: unread.length } : {}) },
    [...unread, ...missingLegacyIds.map((id) => `VirtualSession:${id}`)],
  );
}

/** Every historical session must be `ended` or `cancelled` (plan 1.5). */
export function historicalStatuses(tenant: string, byStatus: Readonly<Record<string, number>>, offendingLegacyIds: readonly string[]): CheckResult {
  const other = Object.entries(byStatus).filter(([status]) => status !== 'ended' && status !== 'cancelled');
  const otherCount = other.reduce((sum, [, n]) => sum + n, 0);
  return result(
    'sessions.status',
    tenant,
    otherCount === 0,
    { otherThanEndedOrCancelled: 0 },
    { ...Object.fromEntries(Object.entries(byStatus).sort()), otherThanEndedOrCancelled: otherCount },
    offendingLegacyIds.map((id) => `VirtualSession:${id}`),
  );
}

/** A legacy config must have become a config row (a credential reject leaves none: that is a failure). */
export function configMigrated(tenant: string, facts: { legacyConfig: boolean; migrated: boolean; rejectReason: string | null }): CheckResult {
  return result(
    'configs.migrated',
    tenant,
    !facts.legacyConfig || facts.migrated,
    { migrated: facts.legacyConfig },
    { migrated: facts.migrated, rejectReason: facts.rejectReason },
    facts.legacyConfig && !facts.migrated ? [`TenantVirtualCareConfig:${tenant}`] : [],
  );
}

/** The last test-connection of the migrated config must have passed; failing check ids are the samples. */
export function connectionTest(tenant: string, last: { ok: boolean; checks: ReadonlyArray<{ id: string; ok: boolean }> } | null): CheckResult {
  const failing = last ? last.checks.filter((c) => !c.ok).map((c) => `check:${c.id}`) : ['check:never_tested'];
  return result('configs.test_connection', tenant, last?.ok === true, { ok: true }, { ok: last?.ok ?? false, tested: last !== null }, failing);
}

/** An ended migrated session needs an Encounter unless it ended before the tenant's FHIR era. */
export function encountersForEndedSessions(
  tenant: string,
  counts: { ended: number; withEncounter: number; preFhirEra: number; backfilled?: number },
  missingLegacyIds: readonly string[],
  /** Every recorded Encounter looked up in FHIR: any it does not hold fails the check too. */
  inFhir?: { checked: number; notFoundLegacyIds: readonly string[] },
): CheckResult {
  const missing = counts.ended - counts.withEncounter - counts.preFhirEra;
  const notFound = inFhir?.notFoundLegacyIds ?? [];
  return result(
    'encounters.ended_sessions',
    tenant,
    missing === 0 && missingLegacyIds.length === 0 && notFound.length === 0,
    inFhir ? { missing: 0, notFoundInFhir: 0 } : { missing: 0 },
    {
      ended: counts.ended,
      withEncounter: counts.withEncounter,
      preFhirEra: counts.preFhirEra,
      missing,
      ...(counts.backfilled === undefined ? {} : { backfilled: counts.backfilled }),
      ...(inFhir ? { checkedInFhir: inFhir.checked, notFoundInFhir: notFound.length } : {}),
    },
    [...missingLegacyIds, ...notFound].map((id) => `VirtualSession:${id}`),
  );
}

/**
 * Every importable legacy consent must be held by access-policy as it maps (compared by legacy identifier, so an
 * unrelated consent there cannot stand in for a missing one), and every patient's decision must agree.
 * Samples name legacy consent ids: those not held as they map first, then those of patients whose decision disagrees.
 */
export function consentsAccessible(
  tenant: string,
  counts: { importable: number; missing: number; differing: number; patients: number; disagreements: number },
  samples: { notAsMapped: readonly string[]; disagreeing: readonly string[] },
): CheckResult {
  const ok = counts.missing === 0 && counts.differing === 0 && counts.disagreements === 0;
  return result(
    'consents.accessible',
    tenant,
    ok,
    { consents: counts.importable, missing: 0, differing: 0, disagreements: 0 },
    {
      consents: counts.importable - counts.missing - counts.differing,
      missing: counts.missing,
      differing: counts.differing,
      decisionsChecked: counts.patients,
      disagreements: counts.disagreements,
    },
    [...new Set([...samples.notAsMapped, ...samples.disagreeing])].map((id) => `telehealth_consent:${id}`),
  );
}

/** Recently migrated ended sessions that legacy billed must have their billing event here too. */
export function billingForRecentSessions(
  tenant: string,
  counts: { billedInLegacy: number; billedHere: number; sinceIso: string },
  missingLegacyIds: readonly string[],
  voidedStillBilled: readonly string[] = [],
): CheckResult {
  // A bill legacy voided that is still billed here bills the patient twice beside its re-bill: named by its own id.
  return result(
    'billing.recent_sessions',
    tenant,
    counts.billedHere >= counts.billedInLegacy && missingLegacyIds.length === 0 && voidedStillBilled.length === 0,
    { billed: counts.billedInLegacy, since: counts.sinceIso },
    {
      billed: counts.billedHere,
      missing: Math.max(0, counts.billedInLegacy - counts.billedHere),
      ...(voidedStillBilled.length > 0 ? { voidedInLegacy: voidedStillBilled.length } : {}),
    },
    [...voidedStillBilled.map((id) => `BillingEvent:${id}`), ...missingLegacyIds.map((id) => `VirtualSession:${id}`)],
  );
}

/** A check that could not complete: reported, never a pass. `reason` names the cause, never PHI. */
export function checkError(id: CheckId, tenant: string, reason: string): CheckResult {
  return { id, tenant, status: 'error', expected: null, actual: { error: reason }, samples: [] };
}

/** The run fails when any check fails or errs; an empty checklist is a failure too (nothing was validated). */
export function overallStatus(checks: readonly CheckResult[]): 'pass' | 'fail' {
  return checks.length > 0 && checks.every((c) => c.status === 'pass') ? 'pass' : 'fail';
}

/**
 * Reconciliation fingerprints: the order-independent digest of the legacy rows after mapping must equal
 * the target's. `differing` are the `<Entity>:<legacy id>` of the rows a key-range split found different.
 */
export function fingerprintsMatch(
  tenant: string,
  table: 'sessions' | 'configs' | 'participants',
  digests: { legacy: string; target: string; legacyRows: number; targetRows: number },
  differing: readonly string[],
): CheckResult {
  return result(
    `fingerprints.${table}`,
    tenant,
    digests.legacy === digests.target && differing.length === 0,
    { digest: digests.legacy, rows: digests.legacyRows },
    { digest: digests.target, rows: digests.targetRows, differing: differing.length },
    differing,
  );
}
