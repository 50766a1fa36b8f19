import express, { type RequestHandler } from 'express';
import { AppError } from '../errors';

/**
 * Express' JSON body parser whose client errors become problems naming what was wrong: everything it
 * refuses is about the body or the headers that describe it, which its own errors (http-errors with a
 * `type`, or zlib's for a body that is not the gzip it claims) do not say. Their messages may echo the
 * input, so none is passed on.
 */
export function jsonBody(limit: string): RequestHandler {
  const parse = express.json({ limit, type: ['application/json', 'application/*+json'] });
  return (req, res, next) => {
    // No body at all (neither Transfer-Encoding nor Content-Length, e.g. every GET): what the parser would
    // conclude (type-is' hasBody) without its reading machinery. `Content-Length: 0` still goes through it.
    if (req.headers['transfer-encoding'] === undefined && req.headers['content-length'] === undefined) {
      (req as { body?: unknown }).body ??= undefined;
      next();
      return;
    }
    parse(req, res, (error?: unknown) => (error === undefined ? next() : next(fromBodyParser(error, limit))));
  };
}

function fromBodyParser(error: unknown, limit: string): unknown {
  const e = error as { type?: unknown; status?: unknown };
  const field = (code: ConstructorParameters<typeof AppError>[0], detail: string, name: string, message: string) =>
    new AppError(code, detail, { cause: error, errors: [{ field: name, message }] });
  switch (e.type) {
    case 'entity.too.large':
      return field('payload_too_large', 'the request body exceeds the limit', 'body', `expected at most ${limit}`);
    case 'entity.parse.failed':
      return field('validation_failed', 'the request body is not valid JSON', 'body', 'expected a JSON object');
    case 'encoding.unsupported':
      return field('unsupported_media_type', 'the request body encoding is not supported', 'header.Content-Encoding', 'expected identity, gzip, deflate or br');
    case 'charset.unsupported':
      return field('unsupported_media_type', 'the request body charset is not supported', 'header.Content-Type', 'expected charset utf-8');
  }
  // Any other 4xx of the parser (a corrupt gzip or deflate stream, a length that does not match) is a body
  // that could not be read; anything else (no status, 5xx) stays an internal error.
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return field(
      'bad_request',
      'the request body could not be read as its headers describe it',
      'body',
      'expected a body matching its Content-Encoding and Content-Length',
    );
  }
  return error;
}
