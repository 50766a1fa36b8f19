import type { Database } from '@vc/schema';
import { loadCheckpoint } from '../../engine/state';
import type { Checkpoint, StepContext } from '../../engine/types';

/**
 * S1's as-of watermark: fixed by the first batch of 1.1 and kept in its checkpoint, so a resumed run
 * classifies historical vs deferred exactly as the interrupted one did, and s4's delta sync knows from
 * when legacy changes are its own. (The engine already hands a resumed run's steps this as-of, through
 * {@link storedS1AsOf}; this keeps a step right when run on its own.)
 */
export async function s1AsOf(ctx: StepContext, own?: Checkpoint): Promise<Date> {
  const stored = (own?.facts.asOf as string | undefined) ?? ((await ctx.checkpointOf('s1', '1.1'))?.facts.asOf as string | undefined);
  if (stored === undefined) return ctx.options.asOf;
  return new Date(stored);
}

/**
 * The as-of 1.1 fixed for the tenant (a key range's own checkpoint first), if it ran: S1's `storedAsOf`, which
 * the engine hands the steps of a resumed run and reports in its summary.
 */
export async function storedS1AsOf(db: Database, tenantId: string, range?: string): Promise<Date | undefined> {
  const own = range === undefined ? undefined : await loadCheckpoint(db, { tenantId, phase: 's1', stepId: '1.1', range });
  const stored = (own?.facts.asOf ?? (await loadCheckpoint(db, { tenantId, phase: 's1', stepId: '1.1' }))?.facts.asOf) as string | undefined;
  return stored === undefined ? undefined : new Date(stored);
}
