import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../errors';
import { jsonDepth, MAX_JSON_DEPTH } from './primitives';

/**
 * zod's own wording for the issues whose default message would carry the client's input: an unknown key is
 * quoted (`Unrecognized key: "jane.doe@example.org"`), a non-finite number printed. Messages a schema sets
 * itself win over this map; zod's other defaults name only what was expected.
 */
const messageWithoutInput = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code === 'unrecognized_keys') {
    const count = issue.keys.length;
    return `expected only the documented members (${count} unknown member${count === 1 ? '' : 's'} given)`;
  }
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  return undefined;
};

/** Wrappers (optional, default, nullable, pipe…) down to the schema that has a shape or elements. */
function unwrapped(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (let hops = 0; hops < 32; hops += 1) {
    const def = current._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) break;
    current = inner;
  }
  return current;
}

interface Container {
  type: string;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
}

/**
 * The issue's path as far as the schema declares it: a record's (or any undeclared) key is the client's
 * own text, so the field stops at the member holding it (`body.branding`, never `body.branding.<key>`).
 */
function declaredPath(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const out: string[] = [];
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    const def: Container | undefined = current ? (unwrapped(current)._zod.def as Container) : undefined;
    if (def?.type === 'object' && typeof segment === 'string' && def.shape && Object.hasOwn(def.shape, segment)) current = def.shape[segment];
    else if (def?.type === 'array' && typeof segment === 'number') current = def.element;
    else break;
    out.push(String(segment));
  }
  return out;
}

/**
 * Parses one part of a request with its zod schema. A failure is a 400 problem whose `errors` name each
 * field (`body.scheduledStart`) and what was expected; neither the values nor the keys given are echoed
 * (the problem is logged, and stored for 24 h with an Idempotency-Key).
 */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params'): z.infer<S> {
  if (where === 'query') refuseRepeatedParams(schema, value);
  const result = schema.safeParse(value ?? {}, { error: messageWithoutInput });
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field: [where, ...declaredPath(schema, issue.path)].join('.'),
    message: issue.message,
  }));
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  throw new AppError('validation_failed', `invalid ${fields}`, { errors, cause: result.error });
}

/**
 * `?limit=1&limit=2` reaches the route as `limit: ['1', '2']`, which zod would refuse as "expected an integer"
 * of a value the client never sent. A declared single-valued parameter given more than once says so instead.
 * Undeclared names are left to the schema, which counts them without naming them (they are client input).
 */
function refuseRepeatedParams(schema: z.ZodType, query: unknown): void {
  const shape = (unwrapped(schema)._zod.def as Container).shape;
  if (!shape || query === null || typeof query !== 'object') return;
  const errors = Object.entries(query as Record<string, unknown>)
    .filter(([name, value]) => Array.isArray(value) && Object.hasOwn(shape, name) && (unwrapped(shape[name]!)._zod.def as Container).type !== 'array')
    .map(([name, value]) => ({ field: `query.${name}`, message: `expected one value (given ${(value as unknown[]).length} times)` }));
  if (errors.length > 0) throw new AppError('validation_failed', `invalid ${errors.map((e) => e.field).join(', ')}`, { errors });
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
