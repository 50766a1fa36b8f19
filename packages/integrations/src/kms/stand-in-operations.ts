import { randomBytes } from 'node:crypto';
import { canonicalContext } from './context';
import { open, parseEnvelope, seal } from './envelope';
import { makeSigningHandlers } from './stand-in-signing';
import type { EncryptionContext } from './types';

// The KMS stand-in's TrentService operations, with the request and response shapes of the AWS KMS API reference.

/** The AWS account id in the stand-in's key ARNs. */
export const ACCOUNT = '111122223333';

/** An error in the protocol's terms: `__type` and the HTTP status AWS answers it with. */
export class KmsFault extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A symmetric key of the stand-in: its id, ARN and 32 bytes of AES key material. */
export interface StandInKey {
  id: string;
  arn: string;
  material: Buffer;
  createdAt: Date;
}

/** A decoded JSON 1.1 request body. */
export type Body = Record<string, unknown>;

/** Encrypt, Decrypt, ReEncrypt, GenerateDataKey and DescribeKey over the given keys and aliases. */
export function makeHandlers(keys: Map<string, StandInKey>, aliases: Map<string, string>) {
  function resolveKey(keyId: unknown): StandInKey {
    if (typeof keyId !== 'string' || !keyId) throw new KmsFault('ValidationException', 400, 'KeyId is required');
    const id = aliases.get(keyId) ?? keyId.replace(/^arn:aws:kms:[^:]*:[^:]*:key\//, '');
    const key = keys.get(id);
    if (!key) throw new KmsFault('NotFoundException', 400, `Key '${keyId}' does not exist`);
    return key;
  }

  function decryptBlob(body: Body, blobField: string, contextField: string, keyField: string): { key: StandInKey; plaintext: Buffer } {
    const envelope = parseEnvelope(blobOf(body, blobField));
    if (!envelope || !keys.has(envelope.keyId)) throw new KmsFault('InvalidCiphertextException', 400, 'The ciphertext is invalid');
    const key = keys.get(envelope.keyId)!;
    if (body[keyField] !== undefined && resolveKey(body[keyField]).id !== key.id) {
      throw new KmsFault('IncorrectKeyException', 400, 'The key ID in the request does not identify the key used to encrypt the ciphertext');
    }
    try {
      return { key, plaintext: open(key.material, envelope, canonicalContext(contextOf(body, contextField))) };
    } catch {
      // AWS answers a wrong encryption context exactly like a corrupt blob.
      throw new KmsFault('InvalidCiphertextException', 400, 'The ciphertext is invalid');
    }
  }

  const encryptUnder = (key: StandInKey, plaintext: Uint8Array, context: EncryptionContext) =>
    seal(key.material, key.id, plaintext, canonicalContext(context)).toString('base64');

  return {
    ...makeSigningHandlers(resolveKey),
    Encrypt(body: Body) {
      const key = resolveKey(body.KeyId);
      const plaintext = blobOf(body, 'Plaintext');
      return { CiphertextBlob: encryptUnder(key, plaintext, contextOf(body, 'EncryptionContext')), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    Decrypt(body: Body) {
      const { key, plaintext } = decryptBlob(body, 'CiphertextBlob', 'EncryptionContext', 'KeyId');
      return { Plaintext: plaintext.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    ReEncrypt(body: Body) {
      const { key: source, plaintext } = decryptBlob(body, 'CiphertextBlob', 'SourceEncryptionContext', 'SourceKeyId');
      const destination = resolveKey(body.DestinationKeyId);
      return {
        CiphertextBlob: encryptUnder(destination, plaintext, contextOf(body, 'DestinationEncryptionContext')),
        SourceKeyId: source.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    GenerateDataKey(body: Body) {
      const key = resolveKey(body.KeyId);
      const bytes = typeof body.NumberOfBytes === 'number' ? body.NumberOfBytes : body.KeySpec === 'AES_128' ? 16 : body.KeySpec === 'AES_256' ? 32 : 0;
      if (bytes < 1 || bytes > 1024) throw new KmsFault('ValidationException', 400, 'Specify KeySpec (AES_128|AES_256) or NumberOfBytes (1–1024)');
      const plaintext = randomBytes(bytes);
      return { CiphertextBlob: encryptUnder(key, plaintext, contextOf(body, 'EncryptionContext')), Plaintext: plaintext.toString('base64'), KeyId: key.arn };
    },
    DescribeKey(body: Body) {
      const key = resolveKey(body.KeyId);
      return {
        KeyMetadata: {
          AWSAccountId: ACCOUNT,
          KeyId: key.id,
          Arn: key.arn,
          CreationDate: key.createdAt.getTime() / 1000,
          Enabled: true,
          KeyState: 'Enabled',
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
          EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
          KeyManager: 'CUSTOMER',
          Origin: 'AWS_KMS',
          MultiRegion: false,
          Description: '',
        },
      };
    },
  };
}

function blobOf(body: Body, field: string): Buffer {
  const value = body[field];
  if (typeof value !== 'string' || !value) throw new KmsFault('ValidationException', 400, `${field} is required (base64)`);
  return Buffer.from(value, 'base64');
}

function contextOf(body: Body, field: string): EncryptionContext {
  const value = body[field] ?? {};
  if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new KmsFault('ValidationException', 400, `${field} must map strings to strings`);
  }
  return value as EncryptionContext;
}
