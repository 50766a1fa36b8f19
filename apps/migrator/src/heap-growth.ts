import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what was live after a full garbage collection before it runs the next one, in
 * percent of that live size. V8's own default on a machine with several GiB is up to 300% (a heap four times its
 * live objects), and how near a run gets to that depends on how long it runs: S1's live heap is bounded by its
 * batches in flight (two tenants, ~55-70 MiB at 10,000 rows a batch), yet its peak RSS was 395 MiB at 50k
 * sessions and 774 MiB at 300k (issue 16), the longer run giving V8 more full collections to size the heap at
 * four times a busy moment. At 30% the heap stays within 1.3 times its live objects, so the peak follows the batch
 * size, not the length of the run (50% still left the 300k run 9-18% above the 50k one: a short run seldom
 * collects while both tenants have a full batch in flight). The price is more full collections, ~6x as many at
 * 300k sessions, each marking only that bounded live set (node CPU ~10-20% higher, measured on a loaded box).
 */
export const HEAP_GROWING_PERCENT = 30;

const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets {@link HEAP_GROWING_PERCENT} for this process, unless node was started with its own `--heap-growing-percent`
 * (on its command line or in NODE_OPTIONS), which wins. Returns whether it set it. V8 reads the flag each time it
 * sizes the heap after a full collection, so setting it at start-up, before any batch is read, covers the run.
 */
export function boundHeapGrowth(
  given: readonly string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)],
  set: (flags: string) => void = setFlagsFromString,
): boolean {
  if (given.some((arg) => GIVEN.test(arg))) return false;
  set(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
