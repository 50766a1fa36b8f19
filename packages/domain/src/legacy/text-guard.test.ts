import { describe, expect, it } from 'vitest';
import { mapLegacySession, type LegacyVirtualSession } from './session';
import { checkText, INDEXED_TEXT_MAX_BYTES, TEXT_MAX_BYTES, utf8Length } from './text-guard';

const ROW: LegacyVirtualSession = {
  id: '1',
  tenantId: 'acme',
  externalId: null,
  patientRef: 'Patient/p-1',
  practitionerRef: 'Practitioner/d-1',
  scheduledStart: '2025-06-01 10:00:00',
  scheduledEnd: '2025-06-01 10:30:00',
  startedAt: null,
  endedAt: null,
  status: 'completed',
  videoBackend: 'jitsi',
  roomName: null,
  cancelReason: null,
  encounterRef: null,
  createdAt: '2025-05-01 08:00:00',
  updatedAt: null,
};
const asOf = new Date('2026-01-01T00:00:00Z');

describe('the text guard', () => {
  it.each([
    ['a NUL byte', 'Patient/\u0000', 'indexed', 'invalid_text'],
    ['a lone high surrogate', 'Patient/\uD800x', 'indexed', 'invalid_text'],
    ['a lone low surrogate', '\uDC00', 'text', 'invalid_text'],
    ['an indexed value one byte over the limit', 'x'.repeat(INDEXED_TEXT_MAX_BYTES + 1), 'indexed', 'field_too_long'],
    ['an indexed value over the limit in bytes, not in characters', 'é'.repeat(INDEXED_TEXT_MAX_BYTES / 2 + 1), 'indexed', 'field_too_long'],
    ['free text one byte over its limit', 'x'.repeat(TEXT_MAX_BYTES + 1), 'text', 'field_too_long'],
  ] as const)('rejects %s', (_case, value, kind, reason) => {
    expect(checkText('f', value, kind)).toMatchObject({ reason, field: 'f' });
  });

  it.each([
    ['an indexed value exactly at the limit', 'x'.repeat(INDEXED_TEXT_MAX_BYTES), 'indexed'],
    ['a surrogate pair (an emoji)', 'Patient/😀', 'indexed'],
    ['CJK text', '東京'.repeat(100), 'indexed'],
    ['null', null, 'indexed'],
  ] as const)('accepts %s', (_case, value, kind) => {
    expect(checkText('f', value, kind)).toBeNull();
  });

  it('counts UTF-8 bytes as the encoder does', () => {
    for (const s of ['a', 'é', '東', '😀', 'aé東😀']) expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
  });

  it('names the field, never the value, in the detail', () => {
    const rejection = checkText('patientRef', 'Patient/secret\u0000', 'indexed');
    expect(rejection?.detail).toContain('patientRef');
    expect(rejection?.detail).not.toContain('secret');
  });
});

describe('a legacy session the target cannot hold is one reject, with the field', () => {
  it.each([
    ['a 10 kB patientRef', { patientRef: 'P'.repeat(10_000) }, 'field_too_long', 'patientRef'],
    ['a 10 kB practitionerRef', { practitionerRef: 'P'.repeat(10_000) }, 'field_too_long', 'practitionerRef'],
    ['a NUL in patientRef', { patientRef: 'Patient/\u0000p' }, 'invalid_text', 'patientRef'],
    ['a NUL in cancelReason', { cancelReason: 'no\u0000show' }, 'invalid_text', 'cancelReason'],
    ['a NUL in an unparsable date kept raw in migrated_from', { scheduledEnd: 'soon\u0000' }, 'invalid_text', 'scheduledEnd'],
  ] as const)('%s', (_case, change, reason, field) => {
    expect(mapLegacySession({ ...ROW, ...change }, { asOf, tenantId: 'acme' })).toMatchObject({ kind: 'reject', reason, field });
  });
});
