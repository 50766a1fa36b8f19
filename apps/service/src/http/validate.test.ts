import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../errors';
import { boundedJsonObject, safeText } from './primitives';
import { parse } from './validate';

/**
 * Text PostgreSQL cannot store unchanged is a 400 naming the field, and a 400 never quotes what the client
 * sent (values or keys): problems are logged, and stored for 24 h under an Idempotency-Key.
 */
const HIGH = '\ud800';
const LOW = '\udc00';

function failure(schema: z.ZodType, value: unknown): AppError {
  try {
    parse(schema, value, 'body');
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a validation failure');
}

describe('safeText', () => {
  const schema = z.object({ reason: safeText().trim().min(1) });

  it.each([
    ['a lone high surrogate', `bad ${HIGH} reason`],
    ['a lone low surrogate', `bad ${LOW} reason`],
    ['a low surrogate before its high half', `${LOW}${HIGH}`],
    ['a high surrogate at the end', `bad${HIGH}`],
    ['the NUL character', 'bad\u0000reason'],
  ])('refuses %s, naming the field and not the value', (_what, reason) => {
    const error = failure(schema, { reason });
    expect(error.code).toBe('validation_failed');
    expect(error.errors).toEqual([{ field: 'body.reason', message: expect.stringMatching(/surrogate/) }]);
    expect(JSON.stringify(error.errors)).not.toContain('bad');
  });

  it('accepts a surrogate pair (an emoji) and other text', () => {
    expect(parse(schema, { reason: 'ill 😷 today' }, 'body')).toEqual({ reason: 'ill 😷 today' });
  });
});

describe('boundedJsonObject', () => {
  const schema = z.object({ branding: boundedJsonObject() });

  it.each([
    ['a value', { name: HIGH }],
    ['a nested value', { colors: [{ primary: `#fff${LOW}` }] }],
    ['a key', { [HIGH]: 1 }],
    ['a key three levels down', { a: { b: { [`x${LOW}`]: 'y' } } }],
    ['a NUL in a nested key', { a: { 'b\u0000': 1 } }],
  ])('refuses a lone surrogate or NUL in %s as body.branding', (_where, branding) => {
    expect(failure(schema, { branding }).errors).toEqual([{ field: 'body.branding', message: expect.stringMatching(/surrogate/) }]);
  });

  it('accepts storable text in keys and values', () => {
    const branding = { 'name 😀': 'Clinic 😀', nested: { ok: ['é', 1, null] } };
    expect(parse(schema, { branding }, 'body')).toEqual({ branding });
  });
});

describe('parse: problems name fields, never the client input', () => {
  const strict = z.object({ patientRef: z.string(), when: z.string().optional() }).strict();
  const email = 'jane.doe@example.org';

  it('an unknown key is counted, not quoted', () => {
    const error = failure(strict, { patientRef: 'Patient/1', [email]: 1 });
    const text = JSON.stringify({ detail: error.message, errors: error.errors });
    expect(text).not.toContain('jane.doe');
    expect(error.errors).toEqual([{ field: 'body', message: expect.stringMatching(/1 unknown member given/) }]);
  });

  it('an unknown key holding a lone surrogate leaves nothing unstorable in the problem', () => {
    const error = failure(strict, { patientRef: 'Patient/1', [HIGH]: 1 });
    expect(JSON.stringify({ detail: error.message, errors: error.errors })).not.toMatch(/\\ud800|\ud800/);
  });

  it('a record key on the path is not echoed: the field stops at the declared member', () => {
    const schema = z.object({ labels: z.record(z.string(), z.number()) });
    const error = failure(schema, { labels: { [email]: 'not a number' } });
    expect(error.errors).toEqual([{ field: 'body.labels', message: 'expected number' }]);
  });

  it('keeps the declared path through wrappers and arrays', () => {
    const schema = z.object({ items: z.array(z.object({ at: z.string().min(1) })).optional() });
    expect(failure(schema, { items: [{ at: 'x' }, { at: '' }] }).errors?.map((e) => e.field)).toEqual(['body.items.1.at']);
  });

  it('a wrong type says what was expected, not what was received', () => {
    expect(failure(strict, { patientRef: 12345678 }).errors).toEqual([{ field: 'body.patientRef', message: 'expected string' }]);
  });
});
