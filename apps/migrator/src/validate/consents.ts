import { consentsAccessible, type CheckResult } from '@vc/domain/checklist';
import { patientDecision, type ConsentDecisionReason } from '@vc/domain/consents';
import pLimit from 'p-limit';
import type { AccessPolicyClient } from '../engine/ports';
import type { LegacySource } from '../legacy/types';
import { readConsent } from '../phases/s3/consent-rows';
import { rowsKept, settleConsentTwins } from '../phases/s3/consent-twins';

/** Patients whose decision validation re-asks access-policy: enough to catch a broken import, cheap enough for CI. */
export const DECISION_SAMPLE = 50;
/** Decisions in flight at once (access-policy answers each in one round trip). */
const DECISION_CONCURRENCY = 8;

/**
 * Plan §5 "consent records accessible via access-policy": every importable legacy consent is there (by
 * count), and the decisions of a deterministic sample of patients (the first by legacy consent id) agree.
 */
export async function checkConsents(
  portal: LegacySource,
  accessPolicy: AccessPolicyClient,
  tenantId: string,
  asOf: Date,
  batchSize: number,
): Promise<CheckResult> {
  let importable = 0;
  // The domain check prefixes the samples with `telehealth_consent:`; legacy ids go in bare.
  const sample = new Map<string, { legacyId: string; decisions: ConsentDecisionReason[] }>();
  // The copies of a consent that lost to a newer twin are 3.1's rejects, neither importable nor deciding.
  const twins = await settleConsentTwins(portal, tenantId, batchSize);
  for await (const batch of portal.read('telehealth_consent', { tenantId, batchSize })) {
    for (const row of rowsKept(twins, batch)) {
      const { legacyId, mapping } = readConsent(row, tenantId, asOf);
      if (mapping.kind !== 'mapped') continue;
      importable += 1;
      const ref = mapping.consent.patientRef;
      const entry = sample.get(ref);
      if (entry) entry.decisions.push(mapping.consent.decision);
      else if (sample.size < DECISION_SAMPLE) sample.set(ref, { legacyId, decisions: [mapping.consent.decision] });
    }
  }
  const inAccessPolicy = importable === 0 ? 0 : await accessPolicy.countConsents(tenantId);
  // The sample's decisions asked a few at a time: one round trip after another was most of the check's time.
  const limit = pLimit(DECISION_CONCURRENCY);
  const verdicts = await Promise.all(
    [...sample].map(([ref, entry]) =>
      limit(async () => {
        const expected = patientDecision(entry.decisions.map((decision) => ({ decision })));
        const actual = await accessPolicy.decideTelehealth(tenantId, ref, asOf);
        return actual.permitted === expected.permitted ? undefined : entry.legacyId;
      }),
    ),
  );
  const disagreeing = verdicts.filter((id): id is string => id !== undefined);
  return consentsAccessible(tenantId, { importable, inAccessPolicy, decisionsChecked: sample.size, disagreements: disagreeing.length }, disagreeing);
}
