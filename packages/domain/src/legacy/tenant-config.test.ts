import { describe, expect, it } from 'vitest';
import { parseBranding } from './branding';
import { mapTenantConfig } from './tenant-config';
import { tallyCodes } from './codes';

describe('tenant config (plan 1.3)', () => {
  it.each([
    ['{"logoUrl":"https://x/logo.png","color":"#123456"}', { logoUrl: 'https://x/logo.png', color: '#123456' }, null],
    [null, null, null],
    ['', null, null],
    ['{"logoUrl": ', null, 'malformed_branding'],
    ['["not","an","object"]', null, 'malformed_branding'],
    ['"text"', null, 'malformed_branding'],
  ] as const)('branding %j parses as %j with warning %j', (raw, branding, warning) => {
    expect(parseBranding(raw)).toEqual({ branding, warning });
  });

  it('maps the non-secret fields and passes the credential blob on untouched', () => {
    const mapped = mapTenantConfig(
      {
        tenantId: 'acme',
        jitsiServerUrl: ' https://meet.acme.test ',
        jitsiAppId: 'acme-app',
        credentials: 'QUJD',
        branding: '{bad',
        enabled: '0',
        updatedAt: null,
      },
      'acme',
    );
    expect(mapped).toEqual({
      warnings: ['malformed_branding'],
      unwritable: null,
      config: { tenantId: 'acme', jitsiServerUrl: 'https://meet.acme.test', jitsiAppId: 'acme-app', branding: null, enabled: false, credentialsBlob: 'QUJD' },
    });
  });

  it("is written under the run's tenant, whatever the row's spelling (legacy's collation read it for that tenant)", () => {
    const row = { jitsiServerUrl: 'u', jitsiAppId: 'i', credentials: 'x', branding: null, enabled: '1', updatedAt: null };
    expect(mapTenantConfig({ ...row, tenantId: 'ACME ' }, 'acme').config.tenantId).toBe('acme');
  });

  it('enabled tinyint 1 is enabled', () => {
    expect(
      mapTenantConfig({ tenantId: 'a', jitsiServerUrl: 'u', jitsiAppId: 'i', credentials: 'x', branding: null, enabled: '1', updatedAt: null }, 'a').config
        .enabled,
    ).toBe(true);
  });
});

describe('counting codes', () => {
  it('counts each code once per source row', () => {
    expect(tallyCodes([['inferred_end', 'inferred_end', 'unknown_status'], ['inferred_end'], []])).toEqual({ inferred_end: 2, unknown_status: 1 });
  });

  it('a branding whose JSON escapes a NUL is rejected invalid_text: jsonb cannot store it', () => {
    const mapped = mapTenantConfig(
      {
        tenantId: 'a',
        jitsiServerUrl: 'u',
        jitsiAppId: 'i',
        credentials: 'x',
        branding: '{"logo":"a\\u0000b"}',
        enabled: '1',
        updatedAt: null,
      },
      'a',
    );
    expect(mapped.unwritable).toMatchObject({ reason: 'invalid_text', field: 'branding' });
  });
});
