import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, ERROR_TITLES, type ErrorCode, PROBLEM_TYPE_BASE, type FieldError } from '../errors';
import { safeError } from '../log-safe';
import { routeLabel } from '../metrics';
import type { Logger } from '../logger';
import { instanceOf, requestIdOf } from './request-id';
import type { RouteMatcher } from './route-match';

/** RFC 9457 problem details as this service sends them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const RESERVED_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'errors']);

function withoutReserved(extensions: AppError['extensions']): Record<string, unknown> {
  return Object.fromEntries(Object.entries(extensions ?? {}).filter(([name]) => !RESERVED_MEMBERS.has(name)));
}

/** RFC 6750 §3: a missing token gets the bare challenge; a token that was given but refused (the error has a cause) says `invalid_token`. */
function bearerChallenge(error: AppError): string {
  if (error.cause === undefined) return 'Bearer realm="virtual-care"';
  return `Bearer realm="virtual-care", error="invalid_token", error_description="${error.message.replace(/["\\]/g, '')}"`;
}

/** `instance` is `urn:uuid:<request id>` (see instanceOf), never anything the client sent. */
export function toProblem(error: AppError, instance: string): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}${error.code.replace(/_/g, '-')}`,
    title: ERROR_TITLES[error.code],
    status: error.status,
    detail: error.message,
    instance,
    ...(error.errors ? { errors: error.errors } : {}),
    // Extensions never overwrite the members RFC 9457 defines (an extension named `status` once did).
    ...withoutReserved(error.extensions),
  };
}

const CLIENT_ERROR_CODES: Partial<Record<number, ErrorCode>> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  // The static files of /docs (`express.static`) evaluate If-Match, If-Unmodified-Since and Range themselves.
  412: 'precondition_failed',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
  429: 'rate_limited',
  431: 'header_fields_too_large',
};

/**
 * Errors that already carry a 4xx (http-errors' `status`/`statusCode`, e.g. the router's URIError for
 * `/sessions/%ZZ`) are the client's: they keep a 4xx. Their messages may echo the input, so the detail is
 * generic. The router's URIError does not say which param it failed to decode: the route table does.
 */
function fromClientError(error: unknown, path: string, matchRoute: RouteMatcher | undefined): AppError | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || !Number.isInteger(status) || status < 400 || status > 499) return undefined;
  const code = CLIENT_ERROR_CODES[status] ?? 'bad_request';
  if (error instanceof URIError) {
    const field = undecodableField(path, matchRoute);
    return new AppError(code, `invalid ${field}: not a valid percent-encoded path segment`, {
      cause: error,
      errors: [{ field, message: 'expected valid percent-encoding (UTF-8)' }],
    });
  }
  return new AppError(code, `the request could not be processed (HTTP ${status})`, { cause: error });
}

/** `params.<name>` of the first param of the path's route whose percent-escape does not decode; `path` without one. */
function undecodableField(path: string, matchRoute: RouteMatcher | undefined): string {
  const decodes = (raw: string) => {
    try {
      decodeURIComponent(raw);
      return true;
    } catch {
      return false;
    }
  };
  const match = matchRoute?.(path);
  const name = Object.entries(match?.rawParams ?? {}).find(([, raw]) => !decodes(raw))?.[0];
  return name === undefined ? 'path' : `params.${name}`;
}

/** A body that is not JSON would otherwise reach the handlers as "no body": refuse it as what it is. */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && !req.is(['application/json', 'application/*+json'])) {
    throw new AppError('unsupported_media_type', 'the request body must be application/json', {
      errors: [{ field: 'header.Content-Type', message: 'expected application/json' }],
    });
  }
  next();
};

/**
 * Routes nobody mounted: a problem too, never Express' HTML page. The detail does not repeat the path:
 * it is the client's text (an id, a name, an e-mail address in a mistyped URL), and problems get logged.
 */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `no route answers ${req.method} at this path`));
};

/**
 * The error middleware, mounted last. AppErrors keep their code; anything else is a 500 whose detail says
 * nothing about internals (the log has it, redacted).
 */
export function problemHandler(logger: Logger, matchRoute?: RouteMatcher): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const path = req.originalUrl.split('?')[0]!;
    const known = error instanceof AppError ? error : fromClientError(error, path, matchRoute);
    const appError = known ?? new AppError('internal', 'an unexpected error occurred; it has been logged', { cause: error });
    // Never the error itself: a database error's message carries the SQL and its bound parameters (PHI).
    const id = requestIdOf(req);
    // With the request's id, the one the problem's `instance` names, so a reported problem leads here.
    if (appError.status >= 500) logger.error({ err: safeError(error), req: { id }, method: req.method, route: routeLabel(req, matchRoute) }, 'request failed');
    if (appError.status === 401) res.set('WWW-Authenticate', bearerChallenge(appError));
    // A 416 names the file's length (RFC 9110 §15.5.17, `bytes */<length>`): `send` hands it over on its error.
    const contentRange = (error as { headers?: Record<string, unknown> } | null)?.headers?.['Content-Range'];
    if (appError.status === 416 && typeof contentRange === 'string') res.set('Content-Range', contentRange);
    res
      .status(appError.status)
      .type('application/problem+json')
      .json(toProblem(appError, instanceOf(id)));
  };
}
