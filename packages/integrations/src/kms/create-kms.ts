import { type AwsKmsOptions, createAwsKms } from './aws-kms';
import { createLocalKms } from './local-keyring';
import { type Kms, KmsError } from './types';

/** Options of {@link createKms}. */
export interface CreateKmsOptions {
  aws?: AwsKmsOptions;
}

/**
 * Opens the KMS named by `VC_KMS`: `local:<path>` (AES-256-GCM keyring file, created with a random key on
 * first use) or `aws:<key-id>` (key id, ARN or alias; region and credentials from the standard AWS env).
 */
export async function createKms(spec: string, opts: CreateKmsOptions = {}): Promise<Kms> {
  const separator = spec.indexOf(':');
  const scheme = separator < 0 ? '' : spec.slice(0, separator);
  const rest = spec.slice(separator + 1).trim();
  if (scheme === 'local' && rest) return createLocalKms(rest);
  if (scheme === 'aws' && rest) return createAwsKms(rest, opts.aws);
  throw new KmsError('invalid_config', `VC_KMS must be local:<path> or aws:<key-id>, got "${spec}"`);
}
