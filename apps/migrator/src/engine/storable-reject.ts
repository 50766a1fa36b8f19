import { createHash } from 'node:crypto';
import { checkText, isStorableText } from '@vc/domain/legacy';
import type { RejectInput } from './types';

const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `\u0000` and unpaired surrogates as their escape text, so `jsonb` takes the value. */
function escaped(value: string): string {
  return value.replace(/\u0000/g, '\\u0000').replace(LONE_SURROGATES, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A reject key as `vc_migration.rejects` holds it: one too long for the unique index becomes its SHA-256. */
export function storableKey(key: string): string {
  return checkText('legacyKey', key, 'indexed') ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
}

/**
 * A reject as `vc_migration.rejects` can hold it: the raw row is the reason to keep a reject, so a value
 * the target cannot store (the very thing that got the row rejected) is kept as escape text and the row
 * lists those fields under `$escaped`; a key too long for the unique index becomes its SHA-256.
 */
export function storableReject(reject: RejectInput): RejectInput {
  const key = storableKey(reject.legacyKey);
  let raw = reject.raw;
  const fields = Object.entries(raw).filter(([k, v]) => !isStorableText(k) || (typeof v === 'string' && !isStorableText(v)));
  if (fields.length > 0) {
    raw = Object.fromEntries(Object.entries(raw).map(([k, v]) => [escaped(k), typeof v === 'string' ? escaped(v) : v]));
    raw.$escaped = fields.map(([k]) => escaped(k));
  }
  return key === reject.legacyKey && raw === reject.raw ? reject : { ...reject, legacyKey: key, raw };
}
