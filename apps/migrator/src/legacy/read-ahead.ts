import type { ReadOptions } from './types';

/**
 * Keeps one `next()` of `source` in flight while the consumer handles the current item: reading the
 * next legacy batch overlaps writing the last one, and memory holds at most one batch ahead.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let pending = iterator.next();
  try {
    for (;;) {
      const result = await pending;
      if (result.done) return;
      pending = iterator.next();
      // If the consumer stops early, the read-ahead may fail unobserved; that failure is not the consumer's.
      pending.catch(() => undefined);
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/** `source` with a read-ahead, unless the reader asked for none. */
export function readAheadUnlessOff<T>(source: AsyncIterable<T>, options: Pick<ReadOptions, 'readAhead'>): AsyncIterable<T> {
  return options.readAhead === false ? source : readAhead(source);
}
