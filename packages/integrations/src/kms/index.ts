export { type EncryptionContext, type Kms, KmsError, type KmsErrorCode, type KmsSignature } from './types';
export { ciphertextKeyId } from './envelope';
export { createKms, type CreateKmsOptions } from './create-kms';
export type { AwsKmsOptions } from './aws-kms';
export { createLocalKms, rotateLocalKeyring, type LocalKeyring } from './local-keyring';
export { decryptLegacyCredentials, encryptLegacyCredentials, LegacyCredentialError, type LegacyCredentials } from './legacy-credentials';
export { startKmsStandIn, type FaultKind, type KmsStandIn, type KmsStandInOptions } from './stand-in';
export { canonicalContext } from './context';
export { decryptAppSecret, encryptAppSecret } from './app-secret';
