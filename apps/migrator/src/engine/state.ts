import type { Database } from '@vc/schema';
import type { PhaseId } from './types';
import { deleteCheckpoints } from './store/checkpoints';
import { deleteRejects } from './store/rejects';

/**
 * The engine's reads and writes of `vc_migration` (runs, step_checkpoints, rejects): one repository module
 * per table under store/, typed by the Drizzle tables of @vc/schema. Only the engine calls these; steps
 * see checkpoints through `run(ctx, checkpoint)` and `ctx.commit`.
 */
export * from './store/checkpoints';
export * from './store/rejects';
export * from './store/runs';

/** `--restart-step`: the steps forget where they were and what they rejected. Rows they wrote stay (re-runs upsert). */
export async function resetSteps(db: Database, tenantId: string, phase: PhaseId, stepIds: readonly string[]): Promise<void> {
  await deleteRejects(db, tenantId, phase, stepIds);
  await deleteCheckpoints(db, tenantId, phase, stepIds);
}
