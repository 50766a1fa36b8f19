import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRetry } from '../retry';
import { createKms } from './create-kms';
import { type KmsStandIn, startKmsStandIn } from './stand-in';
import { type Kms, KmsError } from './types';

// The real @aws-sdk/client-kms over HTTP against the stand-in: what the migrator runs with VC_KMS=aws:….
let standIn: KmsStandIn;
let legacyKeyId: string;
let newKeyId: string;
const aws = () => ({ endpoint: standIn.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const open = (keyId: string): Promise<Kms> => createKms(`aws:${keyId}`, { aws: aws() });

const context = { tenantId: 'acme', purpose: 'jitsi-credentials' };
const secret = () => new TextEncoder().encode('app-secret-value');
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

async function kmsError(promise: Promise<unknown>): Promise<KmsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KmsError);
  return error as KmsError;
}

beforeAll(async () => {
  standIn = await startKmsStandIn({ keys: 1 });
  legacyKeyId = standIn.keyIds[0]!;
  newKeyId = standIn.createKey('alias/virtual-care');
});
afterAll(() => standIn.close());

describe('aws KMS through the real SDK against the KMS stand-in', () => {
  it('encrypts and decrypts with an encryption context, one Encrypt and one Decrypt call', async () => {
    const kms = await open(newKeyId);
    const before = standIn.calls.length;
    const ciphertext = await kms.encrypt(secret(), context);
    expect(text(await kms.decrypt(ciphertext, { purpose: 'jitsi-credentials', tenantId: 'acme' }))).toBe('app-secret-value');
    expect(standIn.calls.slice(before)).toEqual([{ target: 'Encrypt' }, { target: 'Decrypt' }]);
    expect(kms.keyId).toBe(newKeyId);
    expect(kms.description).toBe(`aws:${newKeyId}`);
  });

  it('addresses a key by alias and by ARN', async () => {
    const byAlias = await createKms('aws:alias/virtual-care', { aws: aws() });
    const byArn = await open(`arn:aws:kms:eu-west-1:111122223333:key/${newKeyId}`);
    expect(text(await byArn.decrypt(await byAlias.encrypt(secret(), context), context))).toBe('app-secret-value');
  });

  it('refuses a wrong encryption context as invalid_ciphertext, not retryable', async () => {
    const kms = await open(newKeyId);
    const ciphertext = await kms.encrypt(secret(), context);
    const error = await kmsError(kms.decrypt(ciphertext, { ...context, tenantId: 'globex' }));
    expect(error.code).toBe('invalid_ciphertext');
    expect(error.retryable).toBe(false);
  });

  it('re-encrypts legacy-key ciphertext to the new key and context with ReEncrypt', async () => {
    const legacy = await open(legacyKeyId);
    const legacyBlob = await legacy.encrypt(secret(), { tenantId: 'acme' });
    const kms = await open(newKeyId);
    const before = standIn.calls.length;
    const moved = await kms.reEncrypt(legacyBlob, { keyId: legacyKeyId, context: { tenantId: 'acme' } }, context);
    expect(standIn.calls.slice(before)).toEqual([{ target: 'ReEncrypt' }]);
    expect(text(await kms.decrypt(moved, context))).toBe('app-secret-value');
    expect((await kmsError(kms.decrypt(moved, { tenantId: 'acme' }))).code).toBe('invalid_ciphertext');
    // Naming the wrong source key is refused as AWS does (IncorrectKeyException).
    expect((await kmsError(kms.reEncrypt(legacyBlob, { keyId: newKeyId, context: { tenantId: 'acme' } }, context))).code).toBe('invalid_ciphertext');
  });

  it('surfaces throttling as a retryable KmsError throttled with one HTTP call (SDK retries off)', async () => {
    const kms = await open(newKeyId);
    standIn.failNext(1, 'throttle');
    const before = standIn.calls.length;
    const error = await kmsError(kms.encrypt(secret(), context));
    expect(error.code).toBe('throttled');
    expect(error.retryable).toBe(true);
    expect(standIn.calls.length - before).toBe(1);
  });

  it('gets through throttling and a 500 with withRetry', async () => {
    const kms = await open(newKeyId);
    standIn.failNext(2, 'throttle');
    standIn.failNext(1, '5xx');
    const seen: string[] = [];
    const ciphertext = await withRetry(() => kms.encrypt(secret(), context), {
      retries: 5,
      baseMs: 1,
      isRetryable: (e) => e instanceof KmsError && e.retryable,
      onRetry: (e) => seen.push((e as KmsError).code),
    });
    expect(seen).toEqual(['throttled', 'throttled', 'unavailable']);
    expect(text(await kms.decrypt(ciphertext, context))).toBe('app-secret-value');
  });

  it('surfaces a denial as access_denied that withRetry does not retry', async () => {
    const kms = await open(newKeyId);
    standIn.failNext(1, 'deny');
    let attempts = 0;
    const error = await kmsError(
      withRetry(() => (attempts++, kms.encrypt(secret(), context)), { retries: 5, baseMs: 1, isRetryable: (e) => e instanceof KmsError && e.retryable }),
    );
    expect(error.code).toBe('access_denied');
    expect(attempts).toBe(1);
  });

  it('denies everything while denyAll is on, and serves again after', async () => {
    const kms = await open(newKeyId);
    standIn.denyAll(true);
    expect((await kmsError(kms.encrypt(secret(), context))).code).toBe('access_denied');
    standIn.denyAll(false);
    expect(text(await kms.decrypt(await kms.encrypt(secret(), context), context))).toBe('app-secret-value');
  });

  it('signs requests to a loopback endpoint with dummy keys when config asks for stand-in credentials', async () => {
    const kms = await createKms(`aws:${newKeyId}`, { aws: { endpoint: standIn.url, region: 'us-east-1', credentials: 'stand-in' } });
    expect(text(await kms.decrypt(await kms.encrypt(secret(), context), context))).toBe('app-secret-value');
  });

  it('verifies a signature only under the algorithm Sign uses: any other is invalid (false), not a KMS error', async () => {
    const kms = await open(newKeyId);
    const message = new TextEncoder().encode('{"files":[]}');
    const signature = await kms.sign(message);
    expect(await kms.verify(message, signature)).toBe(true);
    expect(await kms.verify(message, { ...signature, algorithm: 'RSASSA_PSS_SHA_256' })).toBe(false);
  });

  it('answers an unknown key as not_found', async () => {
    const kms = await open('00000000-0000-0000-0000-000000000000');
    expect((await kmsError(kms.encrypt(secret(), context))).code).toBe('not_found');
  });

  it('reports a KMS that does not answer as unavailable', async () => {
    const down = await startKmsStandIn();
    const url = down.url;
    await down.close();
    const kms = await createKms(`aws:${newKeyId}`, { aws: { ...aws(), endpoint: url } });
    const error = await kmsError(kms.encrypt(secret(), context));
    expect(error.code).toBe('unavailable');
    expect(error.retryable).toBe(true);
  });

  it('never puts the plaintext in an error message', async () => {
    const kms = await open(newKeyId);
    standIn.failNext(1, '5xx');
    const error = await kmsError(kms.encrypt(secret(), context));
    expect(error.message).not.toContain('app-secret-value');
    expect(error.message).toBe(`AWS KMS Encrypt with key ${newKeyId} failed: unavailable (KMSInternalException)`);
  });
});

describe('KMS stand-in protocol', () => {
  const post = (target: string | undefined, body: unknown, auth = true) =>
    fetch(standIn.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        ...(target ? { 'X-Amz-Target': target } : {}),
        ...(auth ? { Authorization: 'AWS4-HMAC-SHA256 Credential=x' } : {}),
      },
      body: JSON.stringify(body),
    });

  it('refuses a request without an Authorization header', async () => {
    const res = await post('TrentService.DescribeKey', { KeyId: newKeyId }, false);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });
  });

  it('answers throttling with HTTP 400 and an x-amz-json-1.1 error body', async () => {
    standIn.failNext(1, 'throttle');
    const res = await post('TrentService.DescribeKey', { KeyId: newKeyId });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(await res.json()).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
  });

  it('describes a key and generates data keys', async () => {
    const described = (await (await post('TrentService.DescribeKey', { KeyId: newKeyId })).json()) as { KeyMetadata: { KeyId: string; KeyState: string } };
    expect(described.KeyMetadata.KeyId).toBe(newKeyId);
    expect(described.KeyMetadata.KeyState).toBe('Enabled');
    const dataKey = (await (await post('TrentService.GenerateDataKey', { KeyId: newKeyId, KeySpec: 'AES_256' })).json()) as {
      Plaintext: string;
      CiphertextBlob: string;
    };
    expect(Buffer.from(dataKey.Plaintext, 'base64')).toHaveLength(32);
    const decrypted = (await (await post('TrentService.Decrypt', { CiphertextBlob: dataKey.CiphertextBlob })).json()) as { Plaintext: string };
    expect(decrypted.Plaintext).toBe(dataKey.Plaintext);
  });

  it('answers an unknown operation with UnknownOperationException', async () => {
    const res = await post('TrentService.NoSuchOperation', {});
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe('UnknownOperationException');
  });
});
