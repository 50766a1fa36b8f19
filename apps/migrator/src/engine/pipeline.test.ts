import { describe, expect, it } from 'vitest';
import { commitPipeline, withCommitPipeline } from './pipeline';
import type { Batch } from './types';

/** Lets every pending promise chain run (no timers: these tests wait for order, never for time). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** A `commit` whose batches finish only when the test says so; it logs starts and ends. */
function heldCommits() {
  const log: string[] = [];
  const held: Array<ReturnType<typeof deferred>> = [];
  const commit = async (batch: Batch) => {
    const name = String(batch.cursor.position);
    log.push(`start ${name}`);
    const gate = deferred();
    held.push(gate);
    await gate.promise;
    log.push(`end ${name}`);
  };
  return { log, held, commit };
}

const batch = (position: string): Batch => ({ cursor: { position }, read: 1, written: 0 });

describe('commitPipeline', () => {
  it('starts a commit only once the one before it has ended, in push order', async () => {
    const { log, held, commit } = heldCommits();
    const pipeline = commitPipeline({ commit });
    await pipeline.push(batch('1'));
    const second = pipeline.push(batch('2'));
    await settle();
    expect(log).toEqual(['start 1']);
    held[0]!.resolve();
    await second;
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);
    held[1]!.resolve();
    await pipeline.drain();
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });
});

describe('withCommitPipeline', () => {
  it('when the loop throws while a batch commits, settles only after that commit has ended, with the loop error', async () => {
    const { log, held, commit } = heldCommits();
    let settled = false;
    const run = withCommitPipeline({ commit }, async (pipeline) => {
      await pipeline.push(batch('1'));
      throw new Error('legacy read failed');
    }).finally(() => (settled = true));
    run.catch(() => undefined);
    await settle();
    // The engine records the failed checkpoint once the step settles: batch 1 must have landed first.
    expect(settled).toBe(false);
    held[0]!.resolve();
    await expect(run).rejects.toThrow('legacy read failed');
    expect(log).toEqual(['start 1', 'end 1']);
  });

  it('a commit that failed is the error reported, not the failures that followed it', async () => {
    const { held, commit } = heldCommits();
    const run = withCommitPipeline({ commit }, async (pipeline) => {
      await pipeline.push(batch('1'));
      await settle();
      throw new Error('current transaction is aborted');
    });
    run.catch(() => undefined);
    await settle();
    held[0]!.reject(new Error('duplicate key'));
    await expect(run).rejects.toThrow('duplicate key');
  });

  it('returns the loop result once the last commit has ended', async () => {
    const { log, held, commit } = heldCommits();
    const run = withCommitPipeline({ commit }, async (pipeline) => {
      await pipeline.push(batch('1'));
      return 'folded';
    });
    await settle();
    expect(log).toEqual(['start 1']);
    held[0]!.resolve();
    await expect(run).resolves.toBe('folded');
    expect(log).toEqual(['start 1', 'end 1']);
  });
});
