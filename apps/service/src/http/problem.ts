import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ERROR_TITLES, PROBLEM_TYPE_BASE, type FieldError } from '../errors';
import type { Logger } from '../logger';

/** RFC 9457 problem details as this service sends them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function toProblem(error: AppError, instance?: string): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}${error.code.replace(/_/g, '-')}`,
    title: ERROR_TITLES[error.code],
    status: error.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
    ...(error.extensions ?? {}),
  };
}

/** Express' body parser speaks in `type`s of its own; map the ones a client can cause. */
function fromBodyParser(error: unknown): AppError | undefined {
  const e = error as { type?: string; status?: number };
  if (e.type === 'entity.too.large') return new AppError('payload_too_large', 'the request body exceeds the limit', { cause: error });
  if (e.type === 'entity.parse.failed') {
    return new AppError('validation_failed', 'the request body is not valid JSON', { cause: error, errors: [{ field: 'body', message: 'expected a JSON object' }] });
  }
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', 'the request body encoding is not supported', { cause: error });
  }
  return undefined;
}

/** A body that is not JSON would otherwise reach the handlers as "no body": refuse it as what it is. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    throw new AppError('unsupported_media_type', 'the request body must be application/json');
  }
  next();
};

/** Routes nobody mounted: a problem too, never Express' HTML page. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route ${req.method} ${req.path}`));
};

/**
 * The error middleware, mounted last. AppErrors keep their code; anything else is a 500 whose detail says
 * nothing about internals (the log has it, redacted).
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const known = error instanceof AppError ? error : fromBodyParser(error);
    const appError = known ?? new AppError('internal', 'an unexpected error occurred; it has been logged', { cause: error });
    if (appError.status >= 500) logger.error({ err: error, route: req.route?.path, method: req.method }, 'request failed');
    res.status(appError.status).type('application/problem+json').json(toProblem(appError, req.originalUrl.split('?')[0]));
  };
}
