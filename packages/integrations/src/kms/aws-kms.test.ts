import { describe, expect, it } from 'vitest';
import { kmsErrorCode } from './aws-kms';

const serviceError = (name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('kmsErrorCode', () => {
  it.each([
    ['ThrottlingException', 400, 'throttled'],
    ['LimitExceededException', 400, 'throttled'],
    ['AccessDeniedException', 400, 'access_denied'],
    ['KMSInvalidStateException', 400, 'access_denied'],
    ['DisabledException', 400, 'access_denied'],
    ['InvalidCiphertextException', 400, 'invalid_ciphertext'],
    ['IncorrectKeyException', 400, 'invalid_ciphertext'],
    ['NotFoundException', 400, 'not_found'],
    ['KMSInternalException', 500, 'unavailable'],
    ['SomethingNew', 503, 'unavailable'],
    ['ValidationException', 400, 'invalid_config'],
  ])('maps %s (HTTP %i) to %s', (name, status, code) => {
    expect(kmsErrorCode(serviceError(name, status))).toBe(code);
  });

  it('maps missing credentials or region to invalid_config, which is not retried', () => {
    expect(kmsErrorCode(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toBe('invalid_config');
    expect(kmsErrorCode(new Error('Region is missing'))).toBe('invalid_config');
  });

  it('maps a refused connection (no HTTP answer) to unavailable', () => {
    expect(kmsErrorCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(kmsErrorCode(new Error('socket hang up'))).toBe('unavailable');
  });
});
