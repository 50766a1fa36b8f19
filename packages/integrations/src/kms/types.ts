import { IntegrationError } from '../errors/integration-error';

/**
 * Key management for tenant credentials. Production: AWS KMS (`VC_KMS=aws:<key-id>`); embedded default:
 * a local AES-256-GCM keyring file (`VC_KMS=local:./.data/kms.json`, created with a random key on first use).
 * Ciphertext is an opaque base64 string; the encryption context is bound to it (AAD / KMS context) and
 * must be given again to decrypt. Plaintext never leaves the process memory of the caller.
 */
export type EncryptionContext = Readonly<Record<string, string>>;

export interface Kms {
  /** What `VC_KMS` said, for reports: `local:<path>` or `aws:<key-id>` (never key material). */
  readonly description: string;
  /** The key id new ciphertext is made under; stored in `tenant_virtual_care_configs.kms_key_id`. */
  readonly keyId: string;
  encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<string>;
  decrypt(ciphertext: string, context: EncryptionContext): Promise<Uint8Array>;
  /**
   * Ciphertext made by another KMS key (the legacy `VC_LEGACY_KMS`) → ciphertext under `keyId`, without the
   * plaintext leaving KMS (AWS `ReEncrypt`). The local keyring decrypts and re-encrypts in memory.
   */
  reEncrypt(ciphertext: string, source: { keyId?: string; context: EncryptionContext }, destinationContext: EncryptionContext): Promise<string>;
  /**
   * Signs `message` (e.g. an evidence manifest) under `keyId`, or under this KMS's signing key: AWS `Sign`
   * (an asymmetric key, ECDSA_SHA_256), or the local keyring's HMAC-SHA256 under a key derived from its key.
   */
  sign(message: Uint8Array, keyId?: string): Promise<KmsSignature>;
  /** Whether `signature` is a valid signature of `message` (AWS `Verify`; the local keyring recomputes the HMAC). */
  verify(message: Uint8Array, signature: KmsSignature): Promise<boolean>;
}

/** A detached signature: the key and algorithm that made it, and the signature bytes in base64. */
export interface KmsSignature {
  keyId: string;
  algorithm: string;
  signature: string;
}

/** Why a KMS call failed. `throttled` and `unavailable` are retried with backoff; the rest fail the step. */
export type KmsErrorCode = 'throttled' | 'unavailable' | 'access_denied' | 'invalid_ciphertext' | 'not_found' | 'invalid_config';

/** An {@link IntegrationError} of the KMS, with the KMS's own reason: callers decide on `code` or on `retryable`. */
export class KmsError extends IntegrationError {
  override readonly name: string = 'KmsError';
  constructor(
    readonly code: KmsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { system: 'kms', retryable: code === 'throttled' || code === 'unavailable', cause: options?.cause });
  }
}
