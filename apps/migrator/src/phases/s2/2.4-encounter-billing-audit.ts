import type { Step } from '../../engine/types';
import { carryOverBilling } from './billing-carry-over';
import { backfillEncounters, type BackfillTotals } from './encounter-backfill';
import { s2Options } from './options';
import { windowEnding } from './window';
import { checkEndedInWindow } from './window-checks';

/**
 * Plan 2.4: Encounter creation, billing events and audit trail. First the legacy billing of migrated
 * sessions is carried over (resumable, keyed by legacy id), so validation can verify billing for recently
 * migrated sessions; then the Encounters legacy never made for migrated ended sessions of the FHIR era are
 * created (see {@link backfillEncounters}); then every session that ended in the window is checked. Any
 * gap fails the step, naming the sessions by legacy id (or new session id).
 */
export const encounterBillingAuditStep: Step = {
  id: '2.4',
  title: 'Encounter creation, billing and audit-trail checks',
  async run(ctx, checkpoint) {
    if (checkpoint.facts.billingCarried !== true) {
      await carryOverBilling(ctx, (checkpoint.cursor?.billingAfter as string | undefined) ?? null);
      if (ctx.signal.aborted) return;
      await ctx.commit({ cursor: { billingAfter: 'done' }, read: 0, written: 0, facts: { billingCarried: true } });
    }
    let backfill = checkpoint.facts.backfill as BackfillTotals | undefined;
    if (checkpoint.facts.encountersBackfilled !== true) {
      const after = (checkpoint.cursor?.encountersAfter as string | undefined) ?? null;
      backfill = await backfillEncounters(ctx, { billingAfter: 'done' }, after, backfill);
      if (!backfill) return;
      await ctx.commit({ cursor: { billingAfter: 'done', encountersAfter: 'done' }, read: 0, written: 0, facts: { encountersBackfilled: true, backfill } });
    }
    const window = windowEnding(ctx.options.asOf, s2Options(ctx.options).window);
    const found = await checkEndedInWindow(ctx.db.db, ctx.tenantId, window, ctx.config.VC_MODE ?? 'shadow');
    const gaps = [
      ...found.encounters.missing.map((s) => `encounter ${s}`),
      ...found.billing.missing.map((s) => `billing ${s}`),
      ...found.audit.missing.map((s) => `audit ${s}`),
    ];
    await ctx.commit({
      cursor: { billingAfter: 'done', encountersAfter: 'done', checkedAt: window.to.toISOString() },
      read: found.ended,
      written: 0,
      facts: {
        ended: found.ended,
        encounters: { ...found.encounters, missing: found.encounters.missing.length },
        billing: { ok: found.billing.ok, notStarted: found.billing.notStarted, missing: found.billing.missing.length },
        audit: { ok: found.audit.ok, missing: found.audit.missing.length },
        samples: gaps.slice(0, 10),
      },
    });
    if (gaps.length > 0)
      throw new Error(
        `tenant ${ctx.tenantId}: ${gaps.length} gap(s) in Encounter/billing/audit for sessions ended in the window, e.g. ${gaps.slice(0, 5).join(', ')}`,
      );
  },
};
