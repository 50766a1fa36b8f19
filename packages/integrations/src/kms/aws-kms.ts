import { DecryptCommand, EncryptCommand, KMSClient, ReEncryptCommand, SignCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { type EncryptionContext, type Kms, KmsError, type KmsErrorCode } from './types';

/**
 * How to reach AWS KMS, decided by config (the client reads no environment): region, endpoint and where
 * credentials come from. `none` is refused with a message saying what to set, rather than letting the SDK
 * probe the EC2 metadata service for seconds and fail obscurely.
 */
export interface AwsKmsOptions {
  /** Endpoint override, e.g. the KMS stand-in's URL. */
  endpoint?: string;
  region: string | undefined;
  /** Static keys, the SDK's provider chain (profiles, roles), dummy keys for a loopback stand-in, or nothing configured. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | 'provider-chain' | 'stand-in' | 'none';
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

const THROTTLED = new Set(['ThrottlingException', 'LimitExceededException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const DENIED = new Set([
  'AccessDeniedException',
  'KMSInvalidStateException',
  'DisabledException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);
const INVALID_CIPHERTEXT = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const UNAVAILABLE = new Set(['KMSInternalException', 'DependencyTimeoutException', 'KeyUnavailableException', 'ServiceUnavailableException', 'TimeoutError']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** Maps an SDK failure to our codes; anything the service did not answer (network, 5xx) is `unavailable`. */
export function kmsErrorCode(error: unknown): KmsErrorCode {
  const e = error as { name?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? '';
  // No credentials or region: retrying cannot help, the environment must change.
  if (name === 'CredentialsProviderError' || /region is missing/i.test((error as Error)?.message ?? '')) return 'invalid_config';
  if (THROTTLED.has(name)) return 'throttled';
  if (DENIED.has(name)) return 'access_denied';
  if (INVALID_CIPHERTEXT.has(name)) return 'invalid_ciphertext';
  if (name === 'NotFoundException') return 'not_found';
  if (UNAVAILABLE.has(name) || NETWORK.has(e?.code ?? '')) return 'unavailable';
  const status = e?.$metadata?.httpStatusCode;
  if (e?.$fault === 'server' || (status !== undefined && status >= 500)) return 'unavailable';
  // No HTTP answer at all: the request never reached KMS.
  if (status === undefined) return 'unavailable';
  return 'invalid_config';
}

const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/;

const NO_CREDENTIALS =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or role (AWS_PROFILE, or VC_KMS_CREDENTIALS=provider-chain for an instance role), or VC_KMS_CREDENTIALS=stand-in with a loopback VC_KMS_ENDPOINT';

/** The SDK's credentials for `opts`, or an invalid_config error naming what to set. */
function sdkCredentials(keyId: string, opts: AwsKmsOptions): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
  const { credentials, endpoint } = opts;
  if (credentials === 'provider-chain') return undefined;
  if (credentials === 'none') throw new KmsError('invalid_config', `AWS KMS key ${keyId}: no AWS credentials configured: ${NO_CREDENTIALS}`);
  if (credentials !== 'stand-in') return credentials;
  // The stand-in checks that requests are signed, not by whom; real KMS would refuse dummy keys after a round trip.
  if (!endpoint || !LOOPBACK.test(endpoint)) {
    throw new KmsError('invalid_config', 'VC_KMS_CREDENTIALS=stand-in signs with dummy keys, which only a loopback VC_KMS_ENDPOINT (the KMS stand-in) accepts');
  }
  return { accessKeyId: 'stand-in', secretAccessKey: 'stand-in' };
}

function toKmsError(operation: string, keyId: string, error: unknown): KmsError {
  const code = kmsErrorCode(error);
  const name = (error as { name?: string })?.name ?? 'Error';
  // The provider chain found nothing (no profile, no role): say what to set, not only the SDK's error name.
  const hint = name === 'CredentialsProviderError' ? `: no AWS credentials found: ${NO_CREDENTIALS}` : '';
  return new KmsError(code, `AWS KMS ${operation} with key ${keyId} failed: ${code} (${name})${hint}`, { cause: error });
}

/**
 * The `aws:<key-id>` KMS. The SDK makes one attempt per call: retrying is the caller's (`withRetry` with
 * `e instanceof KmsError && e.retryable`), so throttling is retried once, with our backoff and our budget.
 */
export function createAwsKms(keyId: string, opts: AwsKmsOptions): Kms {
  if (!opts.region) throw new KmsError('invalid_config', `AWS KMS key ${keyId}: no region: set AWS_REGION (or AWS_DEFAULT_REGION)`);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client = new KMSClient({
    region: opts.region,
    endpoint: opts.endpoint,
    credentials: sdkCredentials(keyId, opts),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: Math.min(timeoutMs, 3_000), requestTimeout: timeoutMs },
  });

  async function call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toKmsError(operation, keyId, error);
    }
  }

  const blob = (ciphertext: string) => Buffer.from(ciphertext, 'base64');
  const ctx = (context: EncryptionContext) => ({ ...context });

  return {
    description: `aws:${keyId}`,
    keyId,
    async encrypt(plaintext, context) {
      const out = await call('Encrypt', () => client.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: ctx(context) })));
      return Buffer.from(out.CiphertextBlob!).toString('base64');
    },
    async decrypt(ciphertext, context) {
      // No KeyId: a symmetric blob names its key, and ciphertext made before a key change must still open.
      const out = await call('Decrypt', () => client.send(new DecryptCommand({ CiphertextBlob: blob(ciphertext), EncryptionContext: ctx(context) })));
      return out.Plaintext!;
    },
    async reEncrypt(ciphertext, source, destinationContext) {
      const out = await call('ReEncrypt', () =>
        client.send(
          new ReEncryptCommand({
            CiphertextBlob: blob(ciphertext),
            SourceKeyId: source.keyId,
            SourceEncryptionContext: ctx(source.context),
            DestinationKeyId: keyId,
            DestinationEncryptionContext: ctx(destinationContext),
          }),
        ),
      );
      return Buffer.from(out.CiphertextBlob!).toString('base64');
    },
    async sign(message, signKeyId = keyId) {
      const out = await call('Sign', () =>
        client.send(new SignCommand({ KeyId: signKeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: SIGNING_ALGORITHM })),
      );
      return { keyId: out.KeyId ?? signKeyId, algorithm: SIGNING_ALGORITHM, signature: Buffer.from(out.Signature!).toString('base64') };
    },
    async verify(message, signature) {
      // Sign only ever uses this algorithm: any other in a signature is not one of ours (and AWS would answer it with an error).
      if (signature.algorithm !== SIGNING_ALGORITHM) return false;
      try {
        const out = await client.send(
          new VerifyCommand({
            KeyId: signature.keyId,
            Message: message,
            MessageType: 'RAW',
            Signature: Buffer.from(signature.signature, 'base64'),
            SigningAlgorithm: SIGNING_ALGORITHM,
          }),
        );
        return out.SignatureValid === true;
      } catch (error) {
        // AWS answers a signature that does not verify with an error, not with SignatureValid: false.
        if ((error as { name?: string }).name === 'KMSInvalidSignatureException') return false;
        throw toKmsError('Verify', signature.keyId, error);
      }
    },
  };
}

/** Evidence signatures need an asymmetric KMS key (KeyUsage SIGN_VERIFY, ECC_NIST_P256). */
const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
