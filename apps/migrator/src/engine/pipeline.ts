import type { Batch, StepContext } from './types';

/**
 * Pipelined commit: at most one batch commits while the step reads and maps the next, so node's mapping
 * and PostgreSQL's COPY use both cores. Commits still run one after another in batch order, each with its
 * checkpoint, so a kill at any instant resumes exactly after the last committed batch (the one in flight
 * either committed or not at all).
 */
export interface CommitPipeline {
  /** Starts committing `batch` once the batch before it has committed; resolves when it has started. */
  push(batch: Batch): Promise<void>;
  /** Resolves when every pushed batch has committed (before reading what they wrote, and at the step's end). */
  drain(): Promise<void>;
}

export function commitPipeline(ctx: Pick<StepContext, 'commit'>): CommitPipeline {
  let inflight: Promise<void> = Promise.resolve();
  return {
    async push(batch) {
      await inflight;
      inflight = ctx.commit(batch);
      // Observed by the next push or drain; marked handled here so a failure is not reported twice.
      inflight.catch(() => undefined);
    },
    drain: () => inflight,
  };
}
