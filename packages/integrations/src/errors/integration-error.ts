/** The outside systems the integrations talk to, as an {@link IntegrationError} names them. */
export type IntegrationSystem = 'fhir' | 'kong' | 'licensing' | 'access-policy' | 'kms' | 'nats';

/**
 * A call to an outside system that failed, the same shape for every system: callers decide on `system`,
 * `status` and `retryable` instead of one error class per client. Messages name the operation, tenant or
 * entity and the status, never a body, URL query or credential (they may hold PHI or secrets).
 */
export class IntegrationError extends Error {
  override readonly name: string = 'IntegrationError';
  readonly system: IntegrationSystem;
  /** The HTTP status the system answered, or undefined when it did not answer (timeout, network, a file). */
  readonly status: number | undefined;
  /** Worth another attempt: the far side was slow, away or in trouble, not our request. */
  readonly retryable: boolean;
  /** How long the system asked us to wait (its `Retry-After`, capped), when it said. */
  readonly retryAfterMs: number | undefined;
  /** The PHI-free summary of the refusal's body (FHIR issue codes), when the client has one. */
  readonly detail: string | undefined;

  constructor(
    message: string,
    details: {
      system: IntegrationSystem;
      status?: number | undefined;
      retryable: boolean;
      retryAfterMs?: number | undefined;
      detail?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.system = details.system;
    this.status = details.status;
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.detail = details.detail;
  }

  /**
   * The system's final word on this one request (a 4xx): the row it concerns is quarantined, not retried.
   * 401 and 403 are not: they would refuse every request alike, a settings problem for the operator.
   */
  get refusesRequest(): boolean {
    const s = this.status;
    return !this.retryable && s !== undefined && s >= 400 && s < 500 && s !== 401 && s !== 403;
  }
}

/** True for an {@link IntegrationError} of `system` that is worth retrying (the `isRetryable` of `withRetry`). */
export function isRetryableFrom(system: IntegrationSystem): (error: unknown) => boolean {
  return (error) => error instanceof IntegrationError && error.system === system && error.retryable;
}
