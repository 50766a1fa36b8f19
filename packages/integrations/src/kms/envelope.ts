import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The AES-256-GCM envelope shared by the local keyring and the KMS stand-in:
 * `version(1) ‖ keyIdLength(1) ‖ keyId(utf8) ‖ nonce(12) ‖ tag(16) ‖ ciphertext`. The key id travels inside
 * so a keyring with several keys (after a rotation) knows which one opens it, as an AWS ciphertext blob does.
 */
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const AES_KEY_BYTES = 32;

export interface SealedEnvelope {
  keyId: string;
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function seal(key: Uint8Array, keyId: string, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new RangeError(`key id must be 1–255 bytes, got ${id.length}`);
  const nonce = randomBytes(NONCE_BYTES);
  const { ciphertext, tag } = gcmEncrypt(key, nonce, plaintext, aad);
  return Buffer.concat([Buffer.from([VERSION, id.length]), id, nonce, tag, ciphertext]);
}

/** Splits an envelope without decrypting it; undefined when the bytes are not one. */
export function parseEnvelope(bytes: Buffer): SealedEnvelope | undefined {
  if (bytes.length < 2 || bytes[0] !== VERSION) return undefined;
  const idEnd = 2 + bytes[1]!;
  if (bytes[1] === 0 || bytes.length < idEnd + NONCE_BYTES + TAG_BYTES) return undefined;
  return {
    keyId: bytes.subarray(2, idEnd).toString('utf8'),
    nonce: bytes.subarray(idEnd, idEnd + NONCE_BYTES),
    tag: bytes.subarray(idEnd + NONCE_BYTES, idEnd + NONCE_BYTES + TAG_BYTES),
    ciphertext: bytes.subarray(idEnd + NONCE_BYTES + TAG_BYTES),
  };
}

/** Decrypts and authenticates; throws (GCM tag mismatch) when the key or the AAD is not the one sealed with. */
export function open(key: Uint8Array, envelope: SealedEnvelope, aad: Uint8Array): Buffer {
  return gcmDecrypt(key, envelope.nonce, envelope.ciphertext, envelope.tag, aad);
}

export function gcmDecrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

export function gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

export { NONCE_BYTES, TAG_BYTES };

/**
 * The key (version) a ciphertext was sealed under, when it is an envelope of ours (local keyring, stand-in);
 * undefined for other blobs (real AWS KMS keeps its key material versions behind the key id).
 */
export function ciphertextKeyId(ciphertext: string): string | undefined {
  return parseEnvelope(Buffer.from(ciphertext, 'base64'))?.keyId;
}
