import { IntegrationError } from '../errors/integration-error';

/** Why an event-stream call failed. `unavailable` and `timeout` are retried; the rest are not. */
export type EventStreamErrorCode = 'unavailable' | 'timeout' | 'rejected' | 'invalid_config' | 'closed';

/** An {@link IntegrationError} of NATS JetStream, with its own reason: callers decide on `code` or on `retryable`. */
export class EventStreamError extends IntegrationError {
  override readonly name: string = 'EventStreamError';
  constructor(
    readonly code: EventStreamErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { system: 'nats', retryable: code === 'unavailable' || code === 'timeout', cause: options?.cause });
  }
}

/** A NATS URL for messages: credentials in it (`nats://user:pass@host`) are dropped. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
