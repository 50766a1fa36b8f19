import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, withRetry } from './with-retry';

class Transient extends Error {}
const isTransient = (e: unknown) => e instanceof Transient;

describe('backoffDelay', () => {
  it('doubles the ceiling each retry and caps it at maxMs (full jitter: random 1 → the ceiling)', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5].map((retry) => backoffDelay(retry, 100, 1000, top))).toEqual([99, 199, 399, 799, 999]);
  });

  it('can pick zero: the whole range from 0 to the ceiling is used', () => {
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0);
    expect(backoffDelay(3, 100, 1000, () => 0.5)).toBe(200);
  });
});

describe('withRetry', () => {
  it('returns the first result without retrying when the first attempt succeeds', async () => {
    const fn = vi.fn(async (attempt: number) => `ok ${attempt}`);
    await expect(withRetry(fn, { retries: 3, isRetryable: isTransient })).resolves.toBe('ok 1');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries retryable errors with 1-based attempt numbers until an attempt succeeds', async () => {
    const seen: number[] = [];
    const retries: Array<[number, number]> = [];
    const result = await withRetry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Transient(`attempt ${attempt}`);
        return 'done';
      },
      { retries: 5, baseMs: 4, maxMs: 6, isRetryable: isTransient, onRetry: (_e, attempt, delayMs) => retries.push([attempt, delayMs]) },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
    expect(retries.map(([attempt]) => attempt)).toEqual([1, 2]);
    expect(retries[0]![1]).toBeGreaterThanOrEqual(0);
    expect(retries[0]![1]).toBeLessThan(4);
    expect(retries[1]![1]).toBeLessThan(6);
  });

  it('throws the last error once the retries are spent', async () => {
    const fn = vi.fn(async (attempt: number) => {
      throw new Transient(`attempt ${attempt}`);
    });
    await expect(withRetry(fn, { retries: 2, baseMs: 1, isRetryable: isTransient })).rejects.toThrow('attempt 3');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('throws a non-retryable error at once without calling onRetry', async () => {
    const onRetry = vi.fn();
    const fn = vi.fn(async () => {
      throw new Error('bad request');
    });
    await expect(withRetry(fn, { retries: 5, baseMs: 1, isRetryable: isTransient, onRetry })).rejects.toThrow('bad request');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('stops waiting and rejects with the abort reason when the signal aborts during a backoff', async () => {
    const controller = new AbortController();
    const fn = vi.fn(async () => {
      throw new Transient('down');
    });
    const run = withRetry(fn, {
      retries: 10,
      baseMs: 60_000,
      maxMs: 60_000,
      isRetryable: isTransient,
      signal: controller.signal,
      // Abort once the helper has decided to wait: the wait must end now, not after up to a minute.
      onRetry: () => queueMicrotask(() => controller.abort(new Error('shutting down'))),
    });
    await expect(run).rejects.toThrow('shutting down');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('does not call fn when the signal is already aborted', async () => {
    const fn = vi.fn(async () => 'never');
    const signal = AbortSignal.abort(new Error('aborted before start'));
    await expect(withRetry(fn, { retries: 1, isRetryable: isTransient, signal })).rejects.toThrow('aborted before start');
    expect(fn).not.toHaveBeenCalled();
  });
});
