/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** Retries after the first attempt: `retries: 3` makes at most 4 attempts. */
  retries: number;
  /** Backoff ceiling of the first retry; doubles each retry. Default 100 ms. */
  baseMs?: number;
  /** Upper bound of any single delay. Default 10 s. */
  maxMs?: number;
  /** Errors that are worth another attempt (throttling, 5xx, network); anything else is thrown at once. */
  isRetryable: (e: unknown) => boolean;
  /** Aborting stops waiting and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before each wait: the error, the attempt that failed (1-based) and the delay chosen. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

const DEFAULT_BASE_MS = 100;
const DEFAULT_MAX_MS = 10_000;

/**
 * The delay before retry number `retry` (1-based): "full jitter" (AWS Architecture Blog, *Exponential
 * Backoff and Jitter*) — uniform in [0, min(max, base·2^(retry-1))]. Full jitter spreads clients that
 * failed together (a throttled KMS, a restarted NATS) instead of having them retry in lockstep.
 */
export function backoffDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `fn(attempt)` (attempt is 1-based) until it resolves, an error is not retryable, or `retries`
 * retries are spent; then the last error is thrown as it was. THE one retry helper of the code base.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const baseMs = opts.baseMs ?? DEFAULT_BASE_MS;
  const maxMs = opts.maxMs ?? DEFAULT_MAX_MS;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt > opts.retries || !opts.isRetryable(error) || opts.signal?.aborted) throw error;
      // A server that said when to come back (Retry-After) is not asked sooner; if that is past the longest
      // wait allowed here, the caller hears the error now rather than after a retry doomed to be refused.
      const asked = retryAfterOf(error);
      if (asked !== undefined && asked > maxMs) throw error;
      const delayMs = Math.max(backoffDelay(attempt, baseMs, maxMs), asked ?? 0);
      opts.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, opts.signal);
    }
  }
}

function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' ? value : undefined;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
