import { createSecretKey, type KeyObject } from 'node:crypto';
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

/**
 * Decrypted app secrets, kept briefly per (tenant, ciphertext): every join needs the secret, and a KMS
 * round trip per join (AWS KMS in production) would cost latency and money. Keyed by the ciphertext, so a
 * `PUT /config` with a new secret is picked up at once; entries expire so a revoked KMS grant takes effect.
 */
export class AppSecretCache {
  private readonly entries = new Map<string, { secret: string; key: KeyObject | undefined; at: number }>();

  constructor(
    private readonly kms: Kms,
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(tenantId: string, ciphertext: string): Promise<string> {
    return (await this.entry(tenantId, ciphertext)).secret;
  }

  /** The app secret as an HS256 signing key, made once per secret rather than on every signature. */
  async signingKey(tenantId: string, ciphertext: string): Promise<KeyObject> {
    const entry = await this.entry(tenantId, ciphertext);
    entry.key ??= createSecretKey(Buffer.from(entry.secret, 'utf8'));
    return entry.key;
  }

  private async entry(tenantId: string, ciphertext: string): Promise<{ secret: string; key: KeyObject | undefined; at: number }> {
    const cacheKey = `${tenantId}\u0000${ciphertext}`;
    const hit = this.entries.get(cacheKey);
    if (hit && this.clock() - hit.at < this.ttlMs) return hit;
    const secret = await decryptAppSecret(this.kms, tenantId, ciphertext);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const entry = { secret, key: undefined, at: this.clock() };
    this.entries.set(cacheKey, entry);
    return entry;
  }
}

function kmsProblem(error: unknown, tenantId: string, op: string): AppError {
  const retryable = error instanceof KmsError && error.retryable;
  return new AppError(retryable ? 'dependency_unavailable' : 'internal', `KMS ${op} of tenant ${tenantId}'s Jitsi credentials failed`, { cause: error });
}
