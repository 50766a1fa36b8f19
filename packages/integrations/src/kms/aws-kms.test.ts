import { describe, expect, it } from 'vitest';
import { kmsErrorCode } from './aws-kms';
import { createKms } from './create-kms';
import { KmsError } from './types';

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
    expect(kmsErrorCode(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }))).toBe(
      'invalid_config',
    );
    expect(kmsErrorCode(new Error('Region is missing'))).toBe('invalid_config');
  });

  it('maps a refused connection (no HTTP answer) to unavailable', () => {
    expect(kmsErrorCode(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unavailable');
    expect(kmsErrorCode(new Error('socket hang up'))).toBe('unavailable');
  });
});

describe('createKms for aws: specs', () => {
  const refusal = (opts: Parameters<typeof createKms>[1]) =>
    createKms('aws:alias/virtual-care', opts).then(
      () => undefined,
      (e: unknown) => e as KmsError,
    );

  it('refuses to start without credentials, saying what to set, instead of probing the instance metadata service', async () => {
    const error = await refusal({ aws: { region: 'eu-west-1', credentials: 'none' } });
    expect(error).toBeInstanceOf(KmsError);
    expect([error!.code, error!.retryable]).toEqual(['invalid_config', false]);
    expect(error!.message).toContain('no AWS credentials configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  });

  it('signs with dummy stand-in keys only for a loopback endpoint', async () => {
    const error = await refusal({ aws: { region: 'eu-west-1', endpoint: 'https://kms.eu-west-1.amazonaws.com', credentials: 'stand-in' } });
    expect(error).toMatchObject({ code: 'invalid_config', message: expect.stringContaining('only a loopback VC_KMS_ENDPOINT') });
    expect(await refusal({ aws: { region: 'us-east-1', endpoint: 'http://127.0.0.1:4566', credentials: 'stand-in' } })).toBeUndefined();
  });

  it('refuses a missing region and a missing AWS configuration naming what to set', async () => {
    expect((await refusal({ aws: { region: undefined, credentials: 'provider-chain' } }))!.message).toContain('no region: set AWS_REGION');
    expect((await refusal({}))!.message).toContain('needs its region and credentials passed in from config');
  });
});
