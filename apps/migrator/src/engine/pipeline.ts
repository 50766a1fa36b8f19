import type { Batch, StepContext } from './types';

/**
 * Pipelined commit: at most one batch commits while the step reads and maps the next, so node's mapping
 * and PostgreSQL's COPY use both cores. Commits still run one after another in batch order, each with its
 * checkpoint, so a kill at any instant resumes exactly after the last committed batch (the one in flight
 * either committed or not at all). Only what a batch's mapping reads may overlap a commit: a step whose
 * mapping reads rows the step itself writes must `drain()` first (1.1 does).
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

/**
 * Runs a step's batch loop on a pipeline and settles only when no commit is in flight, also when the loop
 * throws (a read or lookup failing while the last batch commits). The engine records a failed step's
 * checkpoint once the step has thrown; a commit landing after that record would leave the checkpoint
 * behind rows it committed, and the resume would apply that batch twice (participant joins doubled).
 */
export async function withCommitPipeline<T>(ctx: Pick<StepContext, 'commit'>, loop: (pipeline: CommitPipeline) => Promise<T>): Promise<T> {
  const pipeline = commitPipeline(ctx);
  let result: T;
  try {
    result = await loop(pipeline);
  } catch (error) {
    // A failed commit is thrown instead: it came first (in a dry run its aborted savepoint fails the lookups after it).
    await pipeline.drain();
    throw error;
  }
  await pipeline.drain();
  return result;
}
