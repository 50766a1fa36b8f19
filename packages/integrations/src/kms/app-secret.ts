import { decodeJitsiCredentials, encodeJitsiCredentials, jitsiCredentialsContext } from '@vc/domain/jitsi';
import type { Kms } from './types';

/**
 * Encrypts a tenant's Jitsi app secret as the legacy credentials object, under
 * `{ tenantId, purpose: 'jitsi-credentials' }`: the service's `PUT /config` and the migrator's S1 agree on both.
 */
export async function encryptAppSecret(kms: Kms, tenantId: string, appSecret: string): Promise<string> {
  return kms.encrypt(new TextEncoder().encode(encodeJitsiCredentials({ appSecret })), jitsiCredentialsContext(tenantId));
}

/** Decrypts a tenant's app secret under the context it was bound to; it stays in the caller's memory, never logged. */
export async function decryptAppSecret(kms: Kms, tenantId: string, ciphertext: string): Promise<string> {
  const plaintext = await kms.decrypt(ciphertext, jitsiCredentialsContext(tenantId));
  return decodeJitsiCredentials(new TextDecoder().decode(plaintext)).appSecret;
}
