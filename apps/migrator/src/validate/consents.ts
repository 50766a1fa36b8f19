import { consentsAccessible, type CheckResult } from '@vc/domain/checklist';
import { heldAsMapped, patientDecision, type ConsentDecisionReason, type MappedConsent } from '@vc/domain/consents';
import { LEGACY_CONSENT_IDENTIFIER_SYSTEM } from '@vc/integrations/access-policy';
import pLimit from 'p-limit';
import type { AccessPolicyClient } from '../engine/ports';
import type { LegacySource } from '../legacy/types';
import { readConsent } from '../phases/s3/consent-rows';
import { rowsKept, settleConsentTwins } from '../phases/s3/consent-twins';

/** Requests to access-policy in flight at once (searches and decisions): bounded, as a tenant may have many patients. */
const CONCURRENCY = 8;
/** Legacy consents looked up per search (the client's own request size). */
const PER_SEARCH = 50;
/**
 * Patients whose decision is asked, at most: a sample spread over all of them. Every consent itself is compared
 * above, so a consent revoked in legacy since S3, missing or held otherwise fails without any decision; the
 * decisions check access-policy's own rule end to end, and one per patient would be a request for each patient of
 * the tenant (62,500 consents for a 250,000-session tenant) on every validate.
 */
const DECISION_SAMPLE = 200;

interface Patient {
  /** How the report names the patient: their first legacy consent id. Never the ref. */
  legacyId: string;
  decisions: ConsentDecisionReason[];
}

/**
 * Plan §5 "consent records accessible via access-policy": every importable legacy consent is held by access-policy
 * as it maps at as-of, looked up by its legacy identifier (a consent revoked in legacy since S3, or never imported,
 * fails even when another consent there keeps the count up), and the decisions of up to {@link DECISION_SAMPLE}
 * patients, spread over all who have a legacy consent, agree with legacy's. The lookups go 50 identifiers per
 * search, one batch of legacy rows at a time; the decisions one per patient; both a few at a time. Samples are
 * legacy consent ids only.
 */
export async function checkConsents(
  portal: LegacySource,
  accessPolicy: AccessPolicyClient,
  tenantId: string,
  asOf: Date,
  batchSize: number,
): Promise<CheckResult> {
  const limit = pLimit(CONCURRENCY);
  // The copies of a consent that lost to a newer twin are 3.1's rejects, neither importable nor deciding.
  const twins = await settleConsentTwins(portal, tenantId, batchSize);
  const patients = new Map<string, Patient>();
  const notAsMapped: string[] = [];
  let importable = 0;
  let missing = 0;
  for await (const batch of portal.read('telehealth_consent', { tenantId, batchSize })) {
    const mapped: MappedConsent[] = [];
    for (const row of rowsKept(twins, batch)) {
      const { legacyId, mapping } = readConsent(row, tenantId, asOf);
      if (mapping.kind !== 'mapped') continue;
      mapped.push(mapping.consent);
      const patient = patients.get(mapping.consent.patientRef);
      if (patient) patient.decisions.push(mapping.consent.decision);
      else patients.set(mapping.consent.patientRef, { legacyId, decisions: [mapping.consent.decision] });
    }
    importable += mapped.length;
    // The batch's lookups end before the next batch is read: at most one batch of consents is held.
    const chunks = Array.from({ length: Math.ceil(mapped.length / PER_SEARCH) }, (_, i) => mapped.slice(i * PER_SEARCH, (i + 1) * PER_SEARCH));
    const verdicts = await Promise.all(chunks.map((chunk) => limit(() => compareHeld(accessPolicy, tenantId, chunk, asOf))));
    for (const v of verdicts) {
      missing += v.missing.length;
      notAsMapped.push(...v.missing, ...v.differing);
    }
  }
  const every = Math.max(1, Math.ceil(patients.size / DECISION_SAMPLE));
  const asked = [...patients].filter((_, i) => i % every === 0);
  const disagreeing = (
    await Promise.all(
      asked.map(([ref, patient]) =>
        limit(async () => {
          const expected = patientDecision(patient.decisions.map((decision) => ({ decision })));
          const actual = await accessPolicy.decideTelehealth(tenantId, ref, asOf);
          return actual.permitted === expected.permitted ? undefined : patient.legacyId;
        }),
      ),
    )
  ).filter((id): id is string => id !== undefined);
  return consentsAccessible(
    tenantId,
    { importable, missing, differing: notAsMapped.length - missing, patients: asked.length, disagreements: disagreeing.length },
    { notAsMapped, disagreeing },
  );
}

/** One search's consents: the legacy ids access-policy does not hold, and those it holds otherwise than they map. */
async function compareHeld(
  accessPolicy: AccessPolicyClient,
  tenantId: string,
  consents: readonly MappedConsent[],
  asOf: Date,
): Promise<{ missing: string[]; differing: string[] }> {
  const held = await accessPolicy.findConsents(
    tenantId,
    consents.map((c) => ({ system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: c.legacyId })),
  );
  const byId = new Map<string, typeof held>();
  for (const h of held) byId.set(h.identifier.value, [...(byId.get(h.identifier.value) ?? []), h]);
  const missing: string[] = [];
  const differing: string[] = [];
  for (const c of consents) {
    const found = byId.get(c.legacyId) ?? [];
    // Two Consents under one legacy identifier (3.2 would get a 412) is not the consent as it maps either.
    if (found.length === 0) missing.push(c.legacyId);
    else if (found.length > 1 || !heldAsMapped(c, found[0]!, asOf)) differing.push(c.legacyId);
  }
  return { missing, differing };
}
