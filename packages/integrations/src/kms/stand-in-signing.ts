import { generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { type Body, KmsFault, type StandInKey } from './stand-in-operations';

/**
 * The stand-in's Sign and Verify (AWS KMS API reference: Message base64, MessageType RAW, SigningAlgorithm
 * ECDSA_SHA_256 → Signature as DER base64). A real Sign needs an asymmetric key; the stand-in gives each of
 * its keys a P-256 key pair on first use, so one key id serves both in tests.
 */
export function makeSigningHandlers(resolveKey: (keyId: unknown) => StandInKey) {
  const pairs = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  const pairOf = (key: StandInKey) => {
    let pair = pairs.get(key.id);
    if (!pair) pairs.set(key.id, (pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })));
    return pair;
  };
  const request = (body: Body) => {
    if (body.SigningAlgorithm !== 'ECDSA_SHA_256') throw new KmsFault('ValidationException', 400, 'SigningAlgorithm must be ECDSA_SHA_256 for this key');
    if ((body.MessageType ?? 'RAW') !== 'RAW') throw new KmsFault('ValidationException', 400, 'MessageType must be RAW');
    if (typeof body.Message !== 'string' || !body.Message) throw new KmsFault('ValidationException', 400, 'Message is required (base64)');
    return { key: resolveKey(body.KeyId), message: Buffer.from(body.Message, 'base64') };
  };
  return {
    Sign(body: Body) {
      const { key, message } = request(body);
      return { KeyId: key.arn, Signature: sign('sha256', message, pairOf(key).privateKey).toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' };
    },
    Verify(body: Body) {
      const { key, message } = request(body);
      const signature = typeof body.Signature === 'string' ? Buffer.from(body.Signature, 'base64') : Buffer.alloc(0);
      if (!verify('sha256', message, pairOf(key).publicKey, signature)) throw new KmsFault('KMSInvalidSignatureException', 400, 'The signature is invalid');
      return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: 'ECDSA_SHA_256' };
    },
  };
}
