import { hash } from 'node:crypto';
import { isUuid } from '@vc/domain/legacy';

/** Namespace of the ids the migrator derives (a fixed random uuid; changing it would change every id). */
const NAMESPACE = '6f1d2c3e-8a4b-4c5d-9e6f-7a8b9c0d1e2f';

/** RFC 9562 §5.5 UUID version 5: SHA-1 of namespace ‖ name, version and variant bits set. */
const namespaceBytes = new Map<string, Buffer>();

/** Namespace ‖ name is assembled here, grown when a name needs more: one id per loaded session, no Hash object each. */
let scratch = Buffer.alloc(512);

export function uuidV5(name: string, namespace = NAMESPACE): string {
  // The namespace's bytes are parsed once, not per id.
  let ns = namespaceBytes.get(namespace);
  if (!ns) namespaceBytes.set(namespace, (ns = Buffer.from(namespace.replace(/-/g, ''), 'hex')));
  const length = 16 + Buffer.byteLength(name, 'utf8');
  if (length > scratch.length) scratch = Buffer.alloc(length * 2);
  ns.copy(scratch, 0);
  scratch.write(name, 16, 'utf8');
  const bytes = hash('sha1', scratch.subarray(0, length), 'buffer').subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The new id of a legacy session: its externalId when that is a uuid (the id other systems already know),
 * else a uuid v5 of tenant and legacy id. Deterministic, so a killed-and-resumed run equals a clean one.
 */
export function sessionId(tenantId: string, legacyId: string, externalId: string | null): string {
  return isUuid(externalId) ? externalId.toLowerCase() : uuidV5(`VirtualSession:${tenantId}:${legacyId}`);
}
