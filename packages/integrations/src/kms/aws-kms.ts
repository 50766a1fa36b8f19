import { DecryptCommand, EncryptCommand, KMSClient, ReEncryptCommand, SignCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { type EncryptionContext, type Kms, KmsError, type KmsErrorCode } from './types';

/** How to reach AWS KMS; everything else (credentials, region) comes from the standard AWS environment. */
export interface AwsKmsOptions {
  /** Endpoint override, e.g. the KMS stand-in's URL. */
  endpoint?: string;
  /** Default: `AWS_REGION` from the environment, else `us-east-1` when an endpoint is given. */
  region?: string;
  /** Static credentials (tests and the stand-in); default: the SDK's provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
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

/**
 * A loopback endpoint is the KMS stand-in, which checks that requests are signed but not by whom: when the
 * environment has no AWS credentials, sign with dummy ones rather than let the SDK probe the EC2 metadata
 * service (seconds of timeouts) and fail.
 */
function standInCredentials(endpoint: string | undefined): AwsKmsOptions['credentials'] {
  if (!endpoint || !LOOPBACK.test(endpoint) || process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE) return undefined;
  return { accessKeyId: 'stand-in', secretAccessKey: 'stand-in' };
}

function toKmsError(operation: string, keyId: string, error: unknown): KmsError {
  const code = kmsErrorCode(error);
  const name = (error as { name?: string })?.name ?? 'Error';
  return new KmsError(code, `AWS KMS ${operation} with key ${keyId} failed: ${code} (${name})`, { cause: error });
}

/**
 * The `aws:<key-id>` KMS. The SDK makes one attempt per call: retrying is the caller's (`withRetry` with
 * `e instanceof KmsError && e.retryable`), so throttling is retried once, with our backoff and our budget.
 */
export function createAwsKms(keyId: string, opts: AwsKmsOptions = {}): Kms {
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (opts.endpoint ? 'us-east-1' : undefined);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const client = new KMSClient({
    region,
    endpoint: opts.endpoint,
    credentials: opts.credentials ?? standInCredentials(opts.endpoint),
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
      const out = await call('Sign', () => client.send(new SignCommand({ KeyId: signKeyId, Message: message, MessageType: 'RAW', SigningAlgorithm: SIGNING_ALGORITHM })));
      return { keyId: out.KeyId ?? signKeyId, algorithm: SIGNING_ALGORITHM, signature: Buffer.from(out.Signature!).toString('base64') };
    },
    async verify(message, signature) {
      try {
        const out = await client.send(
          new VerifyCommand({ KeyId: signature.keyId, Message: message, MessageType: 'RAW', Signature: Buffer.from(signature.signature, 'base64'), SigningAlgorithm: signature.algorithm as typeof SIGNING_ALGORITHM }),
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
