/** Why an event-stream call failed. `unavailable` and `timeout` are retried; the rest are not. */
export type EventStreamErrorCode = 'unavailable' | 'timeout' | 'rejected' | 'invalid_config' | 'closed';

export class EventStreamError extends Error {
  override readonly name = 'EventStreamError';
  constructor(
    readonly code: EventStreamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.code === 'unavailable' || this.code === 'timeout';
  }
}

/** A NATS URL for messages: credentials in it (`nats://user:pass@host`) are dropped. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
