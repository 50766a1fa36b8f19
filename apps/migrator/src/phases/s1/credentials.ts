import { encodeJitsiCredentials, jitsiCredentialsContext } from '@vc/domain/jitsi';
import { decryptLegacyCredentials, KmsError, LegacyCredentialError } from '@vc/integrations/kms';
import { withRetry } from '@vc/integrations/retry';
import type { Kms } from '../../engine/ports';

/** Where legacy credentials come from: the legacy master key (docs/design.md §4), or a legacy KMS key (`VC_LEGACY_KMS`). */
export type LegacyKeySource = { kind: 'master-key'; masterKeyBase64: string } | { kind: 'kms'; legacyKms: Kms };

/** A blob that cannot become credentials: the row is rejected, the step goes on. */
export class UnusableCredentials extends Error {
  override readonly name = 'UnusableCredentials';
}

const RETRY = { retries: 6, baseMs: 100, maxMs: 5_000 } as const;

/**
 * Plan 1.3's re-encryption: legacy blob → KMS ciphertext under `{tenantId, purpose: 'jitsi-credentials'}`. The blob
 * is decrypted under the tenantId as the legacy row spells it (legacy's AAD / context), and re-encrypted under the
 * run's tenant, which the config is written under: the two differ when the row spells the tenant otherwise ('ACME ').
 * With a master key the plaintext exists only in this function's memory (zeroed after); with a legacy KMS
 * key, KMS `ReEncrypt` moves it without the plaintext leaving KMS. Throttling and unavailability are
 * retried with backoff; a denial or a broken key configuration is thrown and fails the step.
 */
export async function reEncryptCredentials(
  kms: Kms,
  legacy: LegacyKeySource,
  tenant: { legacy: string; target: string },
  blob: string,
  onRetry?: (attempt: number) => void,
): Promise<string> {
  const tenantId = tenant.legacy;
  const context = jitsiCredentialsContext(tenant.target);
  const retrying = <T>(fn: () => Promise<T>) =>
    withRetry(fn, { ...RETRY, isRetryable: (e) => e instanceof KmsError && e.retryable, onRetry: (_e, attempt) => onRetry?.(attempt) });
  if (legacy.kind === 'kms') {
    try {
      return await retrying(() => kms.reEncrypt(blob, { keyId: legacy.legacyKms.keyId, context: { tenantId } }, context));
    } catch (error) {
      if (error instanceof KmsError && error.code === 'invalid_ciphertext')
        throw new UnusableCredentials(`legacy credentials of tenant ${tenantId} are not ciphertext of VC_LEGACY_KMS`, { cause: error });
      throw error;
    }
  }
  let plaintext: Buffer;
  try {
    plaintext = Buffer.from(encodeJitsiCredentials(decryptLegacyCredentials(blob, legacy.masterKeyBase64, tenantId)), 'utf8');
  } catch (error) {
    if (error instanceof LegacyCredentialError) throw new UnusableCredentials(error.message, { cause: error });
    throw error;
  }
  try {
    return await retrying(() => kms.encrypt(plaintext, context));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * What preflight can check without KMS: that a master-key blob decrypts (the plaintext is dropped at
 * once). A KMS-ciphertext blob is only checked by KMS itself.
 */
export function checkLegacyCredentials(legacy: LegacyKeySource, tenantId: string, blob: string): void {
  if (legacy.kind === 'kms') return;
  try {
    void decryptLegacyCredentials(blob, legacy.masterKeyBase64, tenantId);
  } catch (error) {
    if (error instanceof LegacyCredentialError) throw new UnusableCredentials(error.message, { cause: error });
    throw error;
  }
}
