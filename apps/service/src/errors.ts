/**
 * The service's one error class. Every failure a handler can meet is an `AppError` with a typed code; the
 * problem middleware maps it to RFC 9457 problem+json with a stable `type` URI (one per code).
 */

export const PROBLEM_TYPE_BASE = 'https://virtual-care.dev/problems/';

export const ERROR_STATUS = {
  validation_failed: 400,
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  consent_required: 403,
  virtual_care_disabled: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  invalid_transition: 409,
  version_conflict: 409,
  tenant_not_configured: 409,
  idempotency_in_progress: 409,
  slot_migrated: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  idempotency_key_reused: 422,
  rate_limited: 429,
  header_fields_too_large: 431,
  dependency_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_TITLES: Record<ErrorCode, string> = {
  validation_failed: 'The request is not valid',
  bad_request: 'The request could not be read',
  unauthenticated: 'A valid bearer token is required',
  forbidden: 'Your roles do not allow this',
  consent_required: 'An active telehealth consent is required',
  virtual_care_disabled: 'Virtual care is disabled for this tenant',
  not_found: 'Not found',
  method_not_allowed: 'This resource does not support the request method',
  request_timeout: 'The request did not arrive in time',
  invalid_transition: 'The session cannot make this transition in its current state',
  version_conflict: 'The session changed concurrently; reload and retry',
  tenant_not_configured: 'The tenant has no virtual-care configuration',
  idempotency_in_progress: 'A request with this Idempotency-Key is still being processed',
  slot_migrated: 'The migrator already loaded the legacy session of this appointment',
  precondition_failed: 'The resource changed since you read it (If-Match); reload and retry',
  payload_too_large: 'The request body is too large',
  uri_too_long: 'The request URI is too long',
  unsupported_media_type: 'The request body must be application/json',
  range_not_satisfiable: 'The requested range lies outside the file',
  idempotency_key_reused: 'This Idempotency-Key was used with a different request',
  rate_limited: 'Too many requests; retry later',
  header_fields_too_large: 'The request headers are too large',
  dependency_unavailable: 'A service this request depends on is unavailable',
  internal: 'Internal server error',
};

/** One invalid field: `field` is its path (`body.scheduledStart`, `query.limit`). */
export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  /** Extension members of the problem (never PHI or secrets): e.g. `reason` of a consent denial. */
  extensions?: Record<string, string | number | boolean | null>;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly errors: FieldError[] | undefined;
  readonly extensions: Record<string, string | number | boolean | null> | undefined;

  constructor(
    readonly code: ErrorCode,
    /** The problem's `detail`: says what happened and what was expected, without PHI. */
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.errors = options.errors;
    this.extensions = options.extensions;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`);
