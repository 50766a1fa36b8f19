import type { EncryptionContext } from './types';

/**
 * The encryption context as AAD: JSON of the entries sorted by key, so `{purpose, tenantId}` and
 * `{tenantId, purpose}` bind the same bytes (AWS KMS treats the context as an unordered map too).
 */
export function canonicalContext(context: EncryptionContext): Buffer {
  const sorted = Object.keys(context)
    .sort()
    .map((key) => [key, context[key]]);
  return Buffer.from(JSON.stringify(Object.fromEntries(sorted)), 'utf8');
}
