import type { RejectInput, Step } from '../../engine/types';
import { faultRejects, recordsOf } from '../../legacy/record-faults';
import { consentLegacyKey, readConsent, tally, type ReadConsent } from './consent-rows';
import { consentIdOf, duplicateConsentReject, settleConsentTwins } from './consent-twins';

const REJECT_DETAIL: Partial<Record<string, string>> = {
  missing_patient: 'patient_ref is empty (expected a patient reference)',
  unknown_consent_status: 'status is not granted, revoked or expired',
};

/**
 * Plan 3.1: export the tenant's telehealth consents from patient_portal (MySQL, or the CSV export) and
 * map them (docs/design.md §5): active/inactive counted, unusable rows rejected with their reason and raw row.
 * A malformed record of a CSV export (`malformed_record`, `invalid_encoding`) is one reject here, named by
 * file:line with its raw record escaped: it may be a revocation, so it must never vanish unseen. 3.2 and
 * 3.3 read past it (it is 3.1's reject). A consent id a CSV export carries twice is settled by updated_at (the
 * later wins, `settleConsentTwins`); the other copy is rejected `duplicate_legacy_id` with its raw row, and 3.2,
 * 3.3 and validate leave it out. Resumes after the last committed source position.
 */
export const exportConsentsStep: Step = {
  id: '3.1',
  title: 'Export telehealth consents from patient_portal',
  // Legacy's portal takes consent changes until cutover: every `phase s3` reads the export again (steps.ts).
  rerunWhenDone: true,
  async run(ctx, checkpoint) {
    const totals = { legacy: 0, active: 0, inactive: 0, ...(checkpoint.facts.consents as Record<string, number> | undefined) };
    const source = await ctx.services.portal();
    const after = (checkpoint.cursor?.after as string | undefined) ?? null;
    // Twins are settled over the whole export before the first batch, so a resumed run rejects the same copies.
    const twins = await settleConsentTwins(source, ctx.tenantId, ctx.options.batchSize, ctx.signal);
    // Stopped during that scan, the winners are partial: a batch committed now could import a stale twin unrejected.
    if (ctx.signal.aborted) return;
    for await (const batch of source.read('telehealth_consent', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, after, signal: ctx.signal })) {
      const rejects: RejectInput[] = faultRejects(batch.faults);
      const consents: ReadConsent[] = [];
      batch.rows.forEach((row, i) => {
        const legacyId = consentIdOf(row);
        const record = batch.ordinals[i]!;
        if (twins.lost(legacyId, record)) return void rejects.push(duplicateConsentReject(legacyId, record, row, batch.locations?.[i]));
        const c = readConsent(row, ctx.tenantId, ctx.options.asOf);
        consents.push(c);
        if (c.mapping.kind === 'rejected') {
          rejects.push({
            legacyKey: consentLegacyKey(c.legacyId || `#${record}`),
            reason: c.mapping.reason,
            detail: c.mapping.detail ?? REJECT_DETAIL[c.mapping.reason],
            raw: { ...row },
          });
        } else {
          totals[c.mapping.consent.status] += 1;
        }
      });
      totals.legacy += recordsOf(batch);
      await ctx.commit({
        cursor: { after: batch.position },
        read: recordsOf(batch),
        written: consents.filter((c) => c.mapping.kind === 'mapped').length,
        rejects,
        warnings: tally(consents),
        facts: { consents: { ...totals } },
      });
      ctx.progress(totals.legacy);
      if (ctx.signal.aborted) return;
    }
  },
};
