import type { DatabaseHandle } from '@vc/schema';
import type { PhaseId } from './types';
import { deleteCheckpoints } from './store/checkpoints';
import { deleteRejects } from './store/rejects';
import { withTransaction } from './tx';

/**
 * The engine's reads and writes of `vc_migration` (runs, step_checkpoints, rejects): one repository module
 * per table under store/, typed by the Drizzle tables of @vc/schema. Only the engine calls these; steps
 * see checkpoints through `run(ctx, checkpoint)` and `ctx.commit`.
 */
export * from './store/checkpoints';
export * from './store/rejects';
export * from './store/runs';

/**
 * `--restart-step`: the steps forget where they were and what they rejected. Rows they wrote stay (re-runs upsert).
 * One transaction: a kill between the two would leave a `done` step (skipped by the next run) without its rejects.
 */
export async function resetSteps(handle: DatabaseHandle, tenantId: string, phase: PhaseId, stepIds: readonly string[]): Promise<void> {
  await withTransaction(handle, async (tx) => {
    await deleteRejects(tx.db, tenantId, phase, stepIds);
    await deleteCheckpoints(tx.db, tenantId, phase, stepIds);
  });
}
