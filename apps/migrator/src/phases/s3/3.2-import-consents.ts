import { IntegrationError } from '@vc/integrations/errors';
import { LEGACY_CONSENT_IDENTIFIER_SYSTEM, type AccessPolicyClient, type TelehealthConsent } from '@vc/integrations/access-policy';
import type { MappedConsent } from '@vc/domain/consents';
import pLimit from 'p-limit';
import type { RejectInput, Step } from '../../engine/types';
import { recordsOf } from '../../legacy/record-faults';
import { consentLegacyKey, readConsent } from './consent-rows';
import { rowsKept, settleConsentTwins } from './consent-twins';

/** The FHIR-style Consent access-policy stores, keyed by the legacy identifier so a re-import converges. */
export function toTelehealthConsent(c: MappedConsent): TelehealthConsent {
  return {
    identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: c.legacyId },
    patientRef: c.patientRef,
    status: c.status,
    ...(c.decision === 'revoked' || c.decision === 'expired' ? { inactiveReason: c.decision } : {}),
    ...(c.periodStart ? { periodStart: c.periodStart } : {}),
    ...(c.periodEnd ? { periodEnd: c.periodEnd } : {}),
    ...(c.method ? { method: c.method } : {}),
    ...(c.recordedBy ? { recordedBy: c.recordedBy } : {}),
    ...(c.sourceUrl ? { sourceUrl: c.sourceUrl } : {}),
  };
}

/**
 * Plan 3.2: import the mapped consents into access-policy (it owns them from now on). Each upsert is a
 * conditional update on the legacy identifier, so re-running, or resuming after a kill, changes nothing
 * that is already there. Upserts are bounded by `--concurrency` and skipped under --dry-run; rows and
 * malformed CSV records 3.1 rejected are read past here (counted read, not rejected twice), and so are the copies of
 * a consent id that lost to a newer twin (3.1's `duplicate_legacy_id`), so one id is upserted once, from its newest row. A consent access-policy refuses (a 4xx other than 401/403) is quarantined
 * as `consent_refused` and the rest go on; 401/403 (our credentials) and exhausted retries fail the step.
 */
export const importConsentsStep: Step = {
  id: '3.2',
  title: 'Import consents into access-policy',
  // Every `phase s3` imports again: a revocation legacy took since is carried; the rest are no-change updates.
  rerunWhenDone: true,
  async run(ctx, checkpoint) {
    const source = await ctx.services.portal();
    const accessPolicy = await ctx.services.accessPolicy();
    const limit = pLimit(ctx.options.concurrency);
    const totals = { created: 0, changed: 0, unchanged: 0, refused: 0, ...(checkpoint.facts.imported as Record<string, number> | undefined) };
    const after = (checkpoint.cursor?.after as string | undefined) ?? null;
    // A copy that lost to its twin is never upserted: the id's one upsert per run is its winner's.
    const twins = await settleConsentTwins(source, ctx.tenantId, ctx.options.batchSize, ctx.signal);
    // Stopped during that scan, the winners are partial: commit nothing rather than upsert a stale twin.
    if (ctx.signal.aborted) return;
    for await (const batch of source.read('telehealth_consent', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, after, signal: ctx.signal })) {
      const consents = rowsKept(twins, batch)
        .map((row) => readConsent(row, ctx.tenantId, ctx.options.asOf).mapping)
        .flatMap((m) => (m.kind === 'mapped' ? [toTelehealthConsent(m.consent)] : []));
      const rejects: RejectInput[] = [];
      // access-policy is outside our transaction: upsert first, then commit the cursor. A kill in between
      // re-upserts this batch on resume, which the conditional update makes a no-op.
      if (!ctx.options.dryRun) {
        const results = await Promise.all(consents.map((c) => limit(() => upsertOrRefuse(accessPolicy, ctx.tenantId, c))));
        for (const [i, r] of results.entries()) {
          if ('refused' in r) rejects.push(refusedConsent(consents[i]!, r.refused));
          else totals[r.created ? 'created' : r.changed ? 'changed' : 'unchanged'] += 1;
        }
        totals.refused += rejects.length;
      }
      await ctx.commit({
        cursor: { after: batch.position },
        read: recordsOf(batch),
        written: consents.length - rejects.length,
        rejects,
        facts: { imported: { ...totals } },
      });
      if (ctx.signal.aborted) return;
    }
    ctx.log.info({ tenant: ctx.tenantId, ...totals }, 'consents imported into access-policy');
  },
};

type Upserted = Awaited<ReturnType<AccessPolicyClient['upsertConsent']>>;

async function upsertOrRefuse(
  accessPolicy: AccessPolicyClient,
  tenantId: string,
  consent: TelehealthConsent,
): Promise<Upserted | { refused: IntegrationError }> {
  try {
    return await accessPolicy.upsertConsent(tenantId, consent);
  } catch (error) {
    if (!(error instanceof IntegrationError && error.refusesRequest))
      throw new Error(`importing consent ${consentLegacyKey(consent.identifier.value)} failed: ${(error as Error).message}`, { cause: error });
    return { refused: error };
  }
}

/** The status and access-policy's message, which names fields, never the consent's content. */
function refusedConsent(consent: TelehealthConsent, error: IntegrationError): RejectInput {
  return {
    legacyKey: consentLegacyKey(consent.identifier.value),
    reason: 'consent_refused',
    detail: `access-policy refused the consent (HTTP ${error.status}): ${error.message}`,
    raw: { legacyId: consent.identifier.value },
  };
}
