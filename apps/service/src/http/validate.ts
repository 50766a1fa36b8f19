import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../errors';
import { jsonDepth, MAX_JSON_DEPTH } from './primitives';

/**
 * Parses one part of a request with its zod schema. A failure is a 400 problem whose `errors` name each
 * field (`body.scheduledStart`) and what was expected; the values given are never echoed.
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  throw new AppError('validation_failed', `invalid ${fields}`, { errors, cause: result.error });
}

/**
 * Mounted after the JSON parser: a body nested deeper than any route accepts is refused before anything
 * walks it recursively (request hashing, zod, jsonb serialisation), so 10,000 levels cannot overflow the stack.
 */
export const requireBoundedBody: RequestHandler = (req, _res, next) => {
  if (jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new AppError('validation_failed', 'invalid body', {
      errors: [{ field: 'body', message: `expected JSON nested at most ${MAX_JSON_DEPTH} levels deep` }],
    });
  }
  next();
};
