import { describe, expect, it } from 'vitest';
import { IntegrationError, isRetryableFrom } from './integration-error';
import { KmsError } from '../kms/types';
import { EventStreamError } from '../nats/errors';

const failure = (status: number | undefined, retryable: boolean) => new IntegrationError('x', { system: 'fhir', status, retryable });

describe('IntegrationError', () => {
  it.each([
    [422, false, true],
    [400, false, true],
    [404, false, true],
    [401, false, false],
    [403, false, false],
    [429, true, false],
    [503, true, false],
    [undefined, true, false],
    [undefined, false, false],
  ])('status %s (retryable %s) refuses the request: %s', (status, retryable, refuses) => {
    expect(failure(status, retryable).refusesRequest).toBe(refuses);
  });

  it('is retryable for withRetry only when it comes from the named system and says so', () => {
    const fromFhir = isRetryableFrom('fhir');
    expect(fromFhir(failure(503, true))).toBe(true);
    expect(fromFhir(failure(400, false))).toBe(false);
    expect(fromFhir(new IntegrationError('x', { system: 'kong', status: 503, retryable: true }))).toBe(false);
    expect(fromFhir(Object.assign(new Error('x'), { retryable: true }))).toBe(false);
  });
});

describe('the KMS and NATS errors are IntegrationErrors', () => {
  it.each([
    [new KmsError('throttled', 'x'), 'kms', true],
    [new KmsError('unavailable', 'x'), 'kms', true],
    [new KmsError('access_denied', 'x'), 'kms', false],
    [new EventStreamError('timeout', 'x'), 'nats', true],
    [new EventStreamError('rejected', 'x'), 'nats', false],
  ] as const)('%s: system %s, retryable %s, and no request of theirs is quarantined', (error, system, retryable) => {
    expect(error).toBeInstanceOf(IntegrationError);
    expect([error.system, error.retryable, error.refusesRequest, isRetryableFrom(system)(error)]).toEqual([system, retryable, false, retryable]);
  });
});
