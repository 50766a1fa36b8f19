import { patientDecision, type ConsentDecisionReason } from '@vc/domain/consents';
import { queryRows } from '@vc/schema';
import { sql } from 'drizzle-orm';
import pLimit from 'p-limit';
import type { Step, StepContext } from '../../engine/types';
import { consentLegacyKey, readConsent } from './consent-rows';
import { rowsKept, settleConsentTwins } from './consent-twins';

interface Patient {
  decisions: ConsentDecisionReason[];
  /** How a report names this patient: a legacy consent id, else a legacy session id. Never the ref. */
  label: string;
}

/** The patients to verify, and the consent records no patient could be read from (3.1 rejected them). */
async function collectPatients(ctx: StepContext): Promise<{ patients: Map<string, Patient>; unreadable: string[] }> {
  const patients = new Map<string, Patient>();
  const unreadable: string[] = [];
  const sessions = await queryRows<{ patient_ref: string; label: string }>(
    ctx.db.db,
    sql`select patient_ref, min(coalesce(legacy_id, id::text)) as label from virtual_sessions where tenant_id = ${ctx.tenantId} group by patient_ref`,
  );
  for (const s of sessions) patients.set(s.patient_ref, { decisions: [], label: `VirtualSession:${s.label}` });
  const source = await ctx.services.portal();
  // A stale copy of a consent (3.1's duplicate_legacy_id) must not decide its patient.
  const twins = await settleConsentTwins(source, ctx.tenantId, ctx.options.batchSize, ctx.signal);
  for await (const batch of source.read('telehealth_consent', { tenantId: ctx.tenantId, batchSize: ctx.options.batchSize, signal: ctx.signal })) {
    unreadable.push(...(batch.faults ?? []).map((f) => f.location));
    for (const row of rowsKept(twins, batch)) {
      const { legacyId, mapping } = readConsent(row, ctx.tenantId, ctx.options.asOf);
      if (mapping.kind !== 'mapped') continue;
      const patient = patients.get(mapping.consent.patientRef) ?? { decisions: [], label: consentLegacyKey(legacyId) };
      patient.decisions.push(mapping.consent.decision);
      patients.set(mapping.consent.patientRef, patient);
    }
  }
  return { patients, unreadable };
}

/**
 * Plan 3.3: for every patient of the tenant (those with migrated sessions and those with consents), the
 * decision access-policy gives at as-of must agree with what legacy would have decided. Disagreements
 * fail the step, named by legacy id only. A malformed CSV record (3.1's reject) names no patient, so
 * whose decision it changes is unknown: the step reports it (`unreadable`, by file:line) and warns, and
 * `migrator rejects` lists it; the operator fixes the export and re-runs S3.
 */
export const verifyConsentsStep: Step = {
  id: '3.3',
  title: 'Verify consent decisions through access-policy',
  // Every `phase s3` verifies again, at its own as-of, what 3.2 just imported.
  rerunWhenDone: true,
  async run(ctx) {
    if (ctx.options.dryRun) {
      // A dry run imported nothing, so access-policy cannot agree yet: there is nothing meaningful to verify.
      ctx.log.info({ tenant: ctx.tenantId }, 'dry run: consent decisions are verified after a real import');
      return;
    }
    const { patients, unreadable } = await collectPatients(ctx);
    if (unreadable.length > 0) {
      ctx.log.warn(
        { tenant: ctx.tenantId, count: unreadable.length, records: unreadable.slice(0, 10) },
        'consent records that are not readable (rejected in 3.1) were not verified: fix the export and re-run s3',
      );
    }
    const accessPolicy = await ctx.services.accessPolicy();
    const limit = pLimit(ctx.options.concurrency);
    const disagreeing: string[] = [];
    let permitted = 0;
    await Promise.all(
      [...patients].map(([ref, patient]) =>
        limit(async () => {
          const expected = patientDecision(patient.decisions.map((decision) => ({ decision })));
          const actual = await accessPolicy.decideTelehealth(ctx.tenantId, ref, ctx.options.asOf);
          if (actual.permitted !== expected.permitted) disagreeing.push(patient.label);
          else if (actual.permitted) permitted += 1;
        }),
      ),
    );
    disagreeing.sort();
    await ctx.commit({
      cursor: { verifiedAt: ctx.options.asOf.toISOString() },
      read: patients.size,
      written: 0,
      facts: {
        patients: patients.size,
        permitted,
        disagreements: disagreeing.length,
        samples: disagreeing.slice(0, 10),
        unreadable: { count: unreadable.length, samples: unreadable.slice(0, 10) },
      },
    });
    if (disagreeing.length > 0) {
      throw new Error(
        `tenant ${ctx.tenantId}: ${disagreeing.length} patient(s) whose access-policy decision disagrees with legacy, e.g. ${disagreeing.slice(0, 5).join(', ')}`,
      );
    }
  },
};
