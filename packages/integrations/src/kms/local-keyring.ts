import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { canonicalContext } from './context';
import { AES_KEY_BYTES, open, parseEnvelope, seal } from './envelope';
import { type EncryptionContext, type Kms, KmsError } from './types';

const keyringSchema = z.object({
  version: z.literal(1),
  primaryKeyId: z.string().min(1),
  keys: z
    .array(
      z.object({
        id: z.string().min(1).max(255),
        key: z.base64().refine((k) => Buffer.from(k, 'base64').length === AES_KEY_BYTES, `a base64 ${AES_KEY_BYTES}-byte key`),
        createdAt: z.string(),
      }),
    )
    .min(1),
});

/** The keyring file: every key ever made (old ciphertext stays readable) and the one new ciphertext uses. */
export type LocalKeyring = z.infer<typeof keyringSchema>;

function newKey(now: Date): LocalKeyring['keys'][number] {
  return { id: `local-${randomBytes(8).toString('hex')}`, key: randomBytes(AES_KEY_BYTES).toString('base64'), createdAt: now.toISOString() };
}

async function readKeyring(path: string): Promise<LocalKeyring | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KmsError('invalid_config', `cannot read the local KMS keyring ${path}`, { cause: error });
  }
  let parsed: ReturnType<typeof keyringSchema.safeParse>;
  try {
    parsed = keyringSchema.safeParse(JSON.parse(text));
  } catch {
    // The parser's message would quote the file, i.e. key material: name the file only.
    throw new KmsError('invalid_config', `local KMS keyring ${path} is not JSON`);
  }
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new KmsError(
      'invalid_config',
      `local KMS keyring ${path} is malformed (${where}); expected {version: 1, primaryKeyId, keys: [{id, key, createdAt}]}`,
    );
  }
  const keyring = parsed.data;
  if (!keyring.keys.some((k) => k.id === keyring.primaryKeyId)) {
    throw new KmsError('invalid_config', `local KMS keyring ${path}: primaryKeyId ${keyring.primaryKeyId} is not one of its keys`);
  }
  return keyring;
}

/**
 * Writes a new file atomically with mode 0600: to a temporary name, then `link` (first creation: fails when
 * another process won the race, whose keyring we then use) or `rename` (rotation: replaces).
 */
async function writeKeyring(path: string, keyring: LocalKeyring, mode: 'create' | 'replace'): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(keyring, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    if (mode === 'replace') await rename(tmp, path);
  } catch (error) {
    throw new KmsError('invalid_config', `cannot write the local KMS keyring ${path}`, { cause: error });
  }
  if (mode === 'replace') return true;
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new KmsError('invalid_config', `cannot create the local KMS keyring ${path}`, { cause: error });
  } finally {
    await unlink(tmp);
  }
}

/** Reads the keyring at `path`, creating it with one random key when there is none yet. */
export async function loadOrCreateKeyring(path: string, now: Date = new Date()): Promise<LocalKeyring> {
  const existing = await readKeyring(path);
  if (existing) return existing;
  const first = newKey(now);
  const created: LocalKeyring = { version: 1, primaryKeyId: first.id, keys: [first] };
  if (await writeKeyring(path, created, 'create')) return created;
  return (await readKeyring(path))!;
}

/**
 * Adds a new random key to the keyring and makes it the primary one; older keys stay so existing
 * ciphertext still decrypts (re-encrypt it with `reEncrypt` to move it onto the new key). Returns the new key id.
 */
export async function rotateLocalKeyring(path: string, now: Date = new Date()): Promise<string> {
  const keyring = await loadOrCreateKeyring(path, now);
  const next = newKey(now);
  await writeKeyring(path, { ...keyring, primaryKeyId: next.id, keys: [...keyring.keys, next] }, 'replace');
  return next.id;
}

/** The `local:<path>` KMS: AES-256-GCM under the keyring's primary key, the context bound as AAD. */
export async function createLocalKms(path: string): Promise<Kms> {
  let keyring = await loadOrCreateKeyring(path);
  const keyId = keyring.primaryKeyId;

  async function keyFor(id: string): Promise<Buffer> {
    let entry = keyring.keys.find((k) => k.id === id);
    if (!entry) {
      // Another process may have rotated the keyring since we read it.
      keyring = (await readKeyring(path)) ?? keyring;
      entry = keyring.keys.find((k) => k.id === id);
    }
    if (!entry) throw new KmsError('not_found', `key ${id} is not in the local KMS keyring ${path}`);
    return Buffer.from(entry.key, 'base64');
  }

  async function decrypt(ciphertext: string, context: EncryptionContext, expectedKeyId?: string): Promise<Buffer> {
    const envelope = parseEnvelope(Buffer.from(ciphertext, 'base64'));
    if (!envelope) throw new KmsError('invalid_ciphertext', 'ciphertext is not a local KMS envelope');
    if (expectedKeyId !== undefined && envelope.keyId !== expectedKeyId) {
      throw new KmsError('invalid_ciphertext', `ciphertext was made under key ${envelope.keyId}, not the expected ${expectedKeyId}`);
    }
    const key = await keyFor(envelope.keyId);
    try {
      return open(key, envelope, canonicalContext(context));
    } catch (error) {
      throw new KmsError('invalid_ciphertext', `ciphertext does not decrypt under key ${envelope.keyId} with the given encryption context`, { cause: error });
    }
  }

  async function encrypt(plaintext: Uint8Array, context: EncryptionContext): Promise<string> {
    return seal(await keyFor(keyId), keyId, plaintext, canonicalContext(context)).toString('base64');
  }

  // A signing key apart from the encryption key: the same bytes never serve two purposes.
  const signingKey = async (id: string) => Buffer.from(hkdfSync('sha256', await keyFor(id), Buffer.alloc(0), 'vc-evidence-signing', 32));
  const hmac = async (id: string, message: Uint8Array) =>
    createHmac('sha256', await signingKey(id))
      .update(message)
      .digest();

  return {
    description: `local:${path}`,
    keyId,
    encrypt,
    async sign(message, signKeyId = keyId) {
      return { keyId: signKeyId, algorithm: 'HMAC_SHA_256', signature: (await hmac(signKeyId, message)).toString('base64') };
    },
    async verify(message, signature) {
      if (signature.algorithm !== 'HMAC_SHA_256') return false;
      const expected = await hmac(signature.keyId, message);
      const given = Buffer.from(signature.signature, 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    decrypt: (ciphertext, context) => decrypt(ciphertext, context),
    async reEncrypt(ciphertext, source, destinationContext) {
      const plaintext = await decrypt(ciphertext, source.context, source.keyId);
      try {
        return await encrypt(plaintext, destinationContext);
      } finally {
        plaintext.fill(0);
      }
    },
  };
}
