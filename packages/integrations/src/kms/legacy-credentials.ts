import { randomBytes } from 'node:crypto';
import { AES_KEY_BYTES, NONCE_BYTES, TAG_BYTES, gcmDecrypt, gcmEncrypt } from './envelope';
import { KmsError } from './types';

/** A legacy `TenantVirtualCareConfig.credentials` blob that cannot be used; the migrator rejects the row. */
export class LegacyCredentialError extends Error {
  override readonly name = 'LegacyCredentialError';
  readonly code = 'credential_decrypt_failed' as const;
  constructor(
    readonly tenantId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The decrypted legacy credentials. */
export interface LegacyCredentials {
  appSecret: string;
}

function masterKey(masterKeyBase64: string): Buffer {
  const key = Buffer.from(masterKeyBase64, 'base64');
  // A bad master key is a configuration error for every tenant, not a bad row: fail the step, not the tenant.
  if (key.length !== AES_KEY_BYTES) {
    throw new KmsError('invalid_config', `VC_LEGACY_MASTER_KEY must be ${AES_KEY_BYTES} bytes in base64, got ${key.length} bytes`);
  }
  return key;
}

/**
 * Decrypts a legacy credentials blob (docs/design.md §4): base64(nonce[12] ‖ ciphertext ‖ tag[16]), AES-256-GCM
 * under the legacy master key with AAD = the tenant id in UTF-8, holding JSON `{"appSecret": …}`.
 * Throws {@link LegacyCredentialError} naming the tenant (never the blob or the secret) when it does not
 * decrypt or holds anything else; {@link KmsError} `invalid_config` when the master key is not 32 bytes.
 */
export function decryptLegacyCredentials(blobBase64: string, masterKeyBase64: string, tenantId: string): LegacyCredentials {
  const key = masterKey(masterKeyBase64);
  const blob = Buffer.from(blobBase64.trim(), 'base64');
  if (blob.length < NONCE_BYTES + TAG_BYTES + 1) {
    throw new LegacyCredentialError(
      tenantId,
      `legacy credentials of tenant ${tenantId}: blob is ${blob.length} bytes, expected base64(nonce[12] ‖ ciphertext ‖ tag[16])`,
    );
  }
  let plaintext: Buffer;
  try {
    plaintext = gcmDecrypt(
      key,
      blob.subarray(0, NONCE_BYTES),
      blob.subarray(NONCE_BYTES, -TAG_BYTES),
      blob.subarray(-TAG_BYTES),
      Buffer.from(tenantId, 'utf8'),
    );
  } catch (error) {
    throw new LegacyCredentialError(
      tenantId,
      `legacy credentials of tenant ${tenantId} do not decrypt with VC_LEGACY_MASTER_KEY (AES-256-GCM, AAD = tenant id)`,
      { cause: error },
    );
  }
  try {
    return parseCredentials(plaintext, tenantId);
  } finally {
    plaintext.fill(0);
  }
}

function parseCredentials(plaintext: Buffer, tenantId: string): LegacyCredentials {
  const invalid = () =>
    new LegacyCredentialError(tenantId, `legacy credentials of tenant ${tenantId} decrypt, but not to a JSON object with a non-empty string appSecret`);
  let value: unknown;
  try {
    value = JSON.parse(plaintext.toString('utf8'));
  } catch {
    // No cause: the parser's message quotes the plaintext.
    throw invalid();
  }
  const appSecret = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).appSecret : undefined;
  if (typeof appSecret !== 'string' || appSecret.length === 0) throw invalid();
  return { appSecret };
}

/**
 * The legacy module's encryption, for fixtures and tests: the inverse of {@link decryptLegacyCredentials}.
 * `nonce` is random unless given (a seeded generator passes one to stay deterministic).
 */
export function encryptLegacyCredentials(
  credentials: LegacyCredentials,
  masterKeyBase64: string,
  tenantId: string,
  nonce: Uint8Array = randomBytes(NONCE_BYTES),
): string {
  const { ciphertext, tag } = gcmEncrypt(masterKey(masterKeyBase64), nonce, Buffer.from(JSON.stringify(credentials), 'utf8'), Buffer.from(tenantId, 'utf8'));
  return Buffer.concat([nonce, ciphertext, tag]).toString('base64');
}
