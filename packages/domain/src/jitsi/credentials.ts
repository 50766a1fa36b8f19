/**
 * The plaintext under a tenant's `credentials_ciphertext`: the legacy JSON object `{"appSecret": …}`
 * (docs/design.md §4). Keeping the legacy shape means a KMS `ReEncrypt` of a legacy blob and a fresh `PUT /config`
 * give the same plaintext format.
 */
export interface JitsiCredentials {
  appSecret: string;
}

/** The encryption context every Jitsi credential ciphertext is bound to (the migrator uses the same). */
export function jitsiCredentialsContext(tenantId: string): { tenantId: string; purpose: 'jitsi-credentials' } {
  return { tenantId, purpose: 'jitsi-credentials' };
}

export function encodeJitsiCredentials(credentials: JitsiCredentials): string {
  return JSON.stringify({ appSecret: credentials.appSecret });
}

/** Parses decrypted credentials; throws naming what was expected, never echoing the plaintext. */
export function decodeJitsiCredentials(plaintext: string): JitsiCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(plaintext);
  } catch (error) {
    throw new Error('decrypted Jitsi credentials are not JSON (expected {"appSecret": "<string>"})', { cause: error });
  }
  const appSecret = (parsed as { appSecret?: unknown } | null)?.appSecret;
  if (typeof appSecret !== 'string' || appSecret === '') {
    throw new Error('decrypted Jitsi credentials have no appSecret (expected {"appSecret": "<string>"})');
  }
  return { appSecret };
}
