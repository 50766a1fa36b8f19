import { describe, expect, it } from 'vitest';
import { canonicalContext } from './context';

describe('canonicalContext', () => {
  it('gives the same bytes whatever the order of the keys', () => {
    expect(canonicalContext({ tenantId: 'acme', purpose: 'jitsi-credentials' }).toString()).toBe('{"purpose":"jitsi-credentials","tenantId":"acme"}');
    expect(canonicalContext({ purpose: 'jitsi-credentials', tenantId: 'acme' }).toString()).toBe('{"purpose":"jitsi-credentials","tenantId":"acme"}');
  });

  it('binds an empty context as {}', () => {
    expect(canonicalContext({}).toString()).toBe('{}');
  });
});
