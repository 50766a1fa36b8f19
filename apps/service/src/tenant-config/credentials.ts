import { createSecretKey, type KeyObject } from 'node:crypto';
import { decryptAppSecret, KmsError, type Kms } from '@vc/integrations/kms';
import { AppError } from '../errors';

/**
 * Runs one KMS call on a tenant's Jitsi credentials; a failure is a 503 when KMS may recover (throttled,
 * unavailable) and a 500 otherwise, naming the tenant and the operation, never the secret.
 */
export async function withKmsProblem<T>(tenantId: string, op: 'encrypt' | 'decrypt', call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryable = error instanceof KmsError && error.retryable;
    throw new AppError(retryable ? 'dependency_unavailable' : 'internal', `KMS ${op} of tenant ${tenantId}'s Jitsi credentials failed`, { cause: error });
  }
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
    const secret = await withKmsProblem(tenantId, 'decrypt', () => decryptAppSecret(this.kms, tenantId, ciphertext));
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const entry = { secret, key: undefined, at: this.clock() };
    this.entries.set(cacheKey, entry);
    return entry;
  }
}
