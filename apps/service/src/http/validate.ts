import type { z } from 'zod';
import { AppError } from '../errors';

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
