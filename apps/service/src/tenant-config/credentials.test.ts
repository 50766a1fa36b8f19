import { describe, expect, it } from 'vitest';
import { encryptAppSecret, type EncryptionContext, type Kms } from '@vc/integrations/kms';
import { AppSecretCache } from './credentials';

/** A KMS that "encrypts" by tagging with the context, and counts decrypts. */
function countingKms() {
  const calls: EncryptionContext[] = [];
  const kms: Kms = {
    description: 'test',
    keyId: 'k1',
    encrypt: async (plaintext, context) => Buffer.from(JSON.stringify({ p: Buffer.from(plaintext).toString(), c: context })).toString('base64'),
    decrypt: async (ciphertext, context) => {
      calls.push(context);
      const { p, c } = JSON.parse(Buffer.from(ciphertext, 'base64').toString()) as { p: string; c: EncryptionContext };
      if (JSON.stringify(c) !== JSON.stringify(context)) throw new Error('context mismatch');
      return new TextEncoder().encode(p);
    },
    reEncrypt: () => Promise.reject(new Error('unused')),
    sign: () => Promise.reject(new Error('unused')),
    verify: () => Promise.reject(new Error('unused')),
  };
  return { kms, calls };
}

describe('AppSecretCache', () => {
  it('decrypts under {tenantId, purpose: jitsi-credentials} once per ciphertext within the TTL, and again after it', async () => {
    const { kms, calls } = countingKms();
    let now = 0;
    const cache = new AppSecretCache(kms, 1_000, 10, () => now);
    const ciphertext = await encryptAppSecret(kms, 'acme', 'the-secret-value');
    expect(await cache.get('acme', ciphertext)).toBe('the-secret-value');
    expect(await cache.get('acme', ciphertext)).toBe('the-secret-value');
    expect(calls).toEqual([{ tenantId: 'acme', purpose: 'jitsi-credentials' }]);
    now = 1_000;
    await cache.get('acme', ciphertext);
    expect(calls).toHaveLength(2);
  });

  it("picks up a new secret at once (new ciphertext) and never serves one tenant's secret to another", async () => {
    const { kms } = countingKms();
    const cache = new AppSecretCache(kms);
    const first = await encryptAppSecret(kms, 'acme', 'first-secret');
    const second = await encryptAppSecret(kms, 'acme', 'second-secret');
    expect(await cache.get('acme', first)).toBe('first-secret');
    expect(await cache.get('acme', second)).toBe('second-secret');
    await expect(cache.get('globex', first)).rejects.toThrow("KMS decrypt of tenant globex's Jitsi credentials failed");
  });

  it('keeps at most maxEntries secrets', async () => {
    const { kms, calls } = countingKms();
    const cache = new AppSecretCache(kms, 60_000, 2);
    const c = await Promise.all(['a', 'b', 'c'].map((t) => encryptAppSecret(kms, t, `secret-${t}`)));
    for (const [i, t] of ['a', 'b', 'c'].entries()) await cache.get(t, c[i]!);
    await cache.get('a', c[0]!);
    expect(calls).toHaveLength(4);
  });
});
