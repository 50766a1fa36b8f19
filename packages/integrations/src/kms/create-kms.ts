import type { AwsKmsOptions } from './aws-kms';
import { createLocalKms } from './local-keyring';
import { type Kms, KmsError } from './types';

/** Options of {@link createKms}: an `aws:` spec needs `aws` (region and credentials, from config). */
export interface CreateKmsOptions {
  aws?: AwsKmsOptions;
}

/**
 * Opens the KMS named by `VC_KMS`: `local:<path>` (AES-256-GCM keyring file, created with a random key on
 * first use) or `aws:<key-id>` (key id, ARN or alias; region and credentials as `opts.aws` says).
 */
export async function createKms(spec: string, opts: CreateKmsOptions = {}): Promise<Kms> {
  const separator = spec.indexOf(':');
  const scheme = separator < 0 ? '' : spec.slice(0, separator);
  const rest = spec.slice(separator + 1).trim();
  if (scheme === 'local' && rest) return createLocalKms(rest);
  if (scheme === 'aws' && rest) {
    if (!opts.aws) throw new KmsError('invalid_config', `VC_KMS=aws:${rest} needs its region and credentials passed in from config`);
    // Loaded here: the AWS SDK is most of a CLI start's imports, and a `local:` keyring never needs it.
    const { createAwsKms } = await import('./aws-kms');
    return createAwsKms(rest, opts.aws);
  }
  throw new KmsError('invalid_config', `VC_KMS must be local:<path> or aws:<key-id>, got "${spec}"`);
}
