import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gcmEncrypt } from './envelope';
import { LegacyCredentialError, decryptLegacyCredentials, encryptLegacyCredentials } from './legacy-credentials';
import { KmsError } from './types';

const masterKey = Buffer.alloc(32, 7).toString('base64');
const otherKey = Buffer.alloc(32, 9).toString('base64');

/** A blob the way the legacy module wrote it, with an arbitrary JSON plaintext. */
function legacyBlob(plaintext: string, tenantId: string, key = masterKey): string {
  const nonce = randomBytes(12);
  const { ciphertext, tag } = gcmEncrypt(Buffer.from(key, 'base64'), nonce, Buffer.from(plaintext), Buffer.from(tenantId));
  return Buffer.concat([nonce, ciphertext, tag]).toString('base64');
}

function failure(fn: () => unknown): LegacyCredentialError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LegacyCredentialError);
    return error as LegacyCredentialError;
  }
  throw new Error('expected a LegacyCredentialError');
}

describe('decryptLegacyCredentials', () => {
  it('decrypts nonce ‖ ciphertext ‖ tag under the master key with the tenant id as AAD', () => {
    expect(decryptLegacyCredentials(legacyBlob('{"appSecret":"s3cr3t","extra":1}', 'acme'), masterKey, 'acme')).toEqual({ appSecret: 's3cr3t' });
  });

  it('reads what encryptLegacyCredentials wrote', () => {
    expect(decryptLegacyCredentials(encryptLegacyCredentials({ appSecret: 'abc' }, masterKey, 'acme'), masterKey, 'acme')).toEqual({ appSecret: 'abc' });
  });

  it.each([
    ['another tenant id (AAD)', () => legacyBlob('{"appSecret":"s3cr3t"}', 'globex')],
    ['another master key', () => legacyBlob('{"appSecret":"s3cr3t"}', 'acme', otherKey)],
    ['a truncated blob', () => legacyBlob('{"appSecret":"s3cr3t"}', 'acme').slice(0, 20)],
    ['an empty blob', () => ''],
    ['JSON without appSecret', () => legacyBlob('{"secret":"s3cr3t"}', 'acme')],
    ['a non-string appSecret', () => legacyBlob('{"appSecret":42}', 'acme')],
    ['an empty appSecret', () => legacyBlob('{"appSecret":""}', 'acme')],
    ['plaintext that is not JSON', () => legacyBlob('s3cr3t', 'acme')],
    ['a JSON array', () => legacyBlob('["s3cr3t"]', 'acme')],
  ])('fails with credential_decrypt_failed naming the tenant for %s, never the blob or secret', (_case, makeBlob) => {
    const blob = makeBlob();
    const error = failure(() => decryptLegacyCredentials(blob, masterKey, 'acme'));
    expect(error.code).toBe('credential_decrypt_failed');
    expect(error.tenantId).toBe('acme');
    expect(error.message).toContain('acme');
    if (blob) expect(error.message).not.toContain(blob);
    expect(error.message).not.toContain('s3cr3t');
  });

  it.each([
    ['16 bytes', Buffer.alloc(16).toString('base64')],
    ['not base64 of 32 bytes', 'short'],
  ])('treats a master key of %s as invalid_config, not as a bad row', (_case, key) => {
    const blob = legacyBlob('{"appSecret":"s3cr3t"}', 'acme');
    const error = (() => {
      try {
        return decryptLegacyCredentials(blob, key, 'acme');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(KmsError);
    expect((error as KmsError).code).toBe('invalid_config');
    expect((error as KmsError).message).toContain('VC_LEGACY_MASTER_KEY');
  });
});
