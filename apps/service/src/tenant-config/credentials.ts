import { decodeJitsiCredentials, encodeJitsiCredentials, jitsiCredentialsContext } from '@vc/domain/jitsi';
import type { Kms } from '@vc/integrations/kms';
import { KmsError } from '@vc/integrations/kms';
import { AppError } from '../errors';

/** Encrypts a tenant's Jitsi app secret under `{ tenantId, purpose: 'jitsi-credentials' }` (as the migrator does). */
export async function encryptAppSecret(kms: Kms, tenantId: string, appSecret: string): Promise<string> {
  try {
    return await kms.encrypt(new TextEncoder().encode(encodeJitsiCredentials({ appSecret })), jitsiCredentialsContext(tenantId));
  } catch (error) {
    throw kmsProblem(error, tenantId, 'encrypt');
  }
}

/** Decrypts a tenant's app secret; it lives only in this call's memory and is never logged or returned. */
export async function decryptAppSecret(kms: Kms, tenantId: string, ciphertext: string): Promise<string> {
  let plaintext: Uint8Array;
  try {
    plaintext = await kms.decrypt(ciphertext, jitsiCredentialsContext(tenantId));
  } catch (error) {
    throw kmsProblem(error, tenantId, 'decrypt');
  }
  return decodeJitsiCredentials(new TextDecoder().decode(plaintext)).appSecret;
}

function kmsProblem(error: unknown, tenantId: string, op: string): AppError {
  const retryable = error instanceof KmsError && error.retryable;
  return new AppError(retryable ? 'dependency_unavailable' : 'internal', `KMS ${op} of tenant ${tenantId}'s Jitsi credentials failed`, { cause: error });
}
