import { describe, expect, it } from 'vitest';
import { legacySourceSpec, LEGACY_SOURCE, loadConfig, SETTING_FORMS, type SettingRequirement } from './config';
import { configFailure as failure } from './testing/config-failure';

describe('migrator config', () => {
  it('defaults to the embedded PGlite database and the local keyring', () => {
    const config = loadConfig({});
    expect([config.VC_DATABASE_URL, config.VC_KMS, Object.isFrozen(config)]).toEqual(['pglite:./.data/pg', 'local:./.data/kms.json', true]);
  });

  it.each([
    ['VC_DATABASE_URL', 'mysql://x/y', 'postgres://'],
    ['VC_LEGACY_DATABASE_URL', 'postgres://x/y', 'mysql://'],
    ['VC_KMS', 'vault:abc', 'local:<keyring path> or aws:'],
    ['VC_LEGACY_MASTER_KEY', 'c2hvcnQ=', '32 bytes, base64-encoded'],
    ['VC_MODE', 'dry', 'live or shadow'],
  ])('a bad %s fails with exit 2 naming the variable and the expected form, not the value', (name, value, form) => {
    const error = failure({ [name]: value });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`${name}: expected`);
    expect(error.message).toContain(form);
    expect(error.message).not.toContain(value);
  });

  it.each([
    ['VC_DATABASE_URL', 'postgres://vc:Zx9/q+W=@127.0.0.1:1/vc', 'a reserved character (/ ? #) in the user name or password must be percent-encoded'],
    ['VC_DATABASE_URL', 'postgres://vc:Zx9q#W@127.0.0.1:5432/vc', 'a reserved character (/ ? #) in the user name or password must be percent-encoded'],
    ['VC_DATABASE_URL', 'postgresql://vc:s3cr%t@db:5432/vc', 'must be percent-encoded as %25'],
    ['VC_DATABASE_URL', 'postgres://vc:s3cret@127.0.0.1:99999/vc', 'the port must be a number 1-65535'],
    ['VC_DATABASE_URL', 'postgres://vc:s3cret@127.0.0.1:0/vc', 'the port must be a number 1-65535'],
    ['VC_LEGACY_DATABASE_URL', 'mysql://dc:Zx9/q+W=@legacy:3306/digital_communication', 'must be percent-encoded'],
    ['VC_PORTAL_DATABASE_URL', 'mariadb://pp:s3cret@portal:70000/patient_portal', 'the port must be a number 1-65535'],
  ])('a %s of the right scheme that does not parse is exit 2 saying why, without the URL or password', (name, value, why) => {
    const error = failure({ [name]: value });
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`${name}: expected`);
    expect(error.message).toContain(why);
    expect(error.message).not.toContain(value);
    expect(error.message).not.toMatch(/Zx9|s3c/);
  });

  it.each([
    ['VC_DATABASE_URL', 'postgres://vc:Zx9%2Fq%2BW%3D@127.0.0.1:5432/vc'],
    ['VC_DATABASE_URL', 'postgresql://vc@[::1]:5432/vc'],
    ['VC_DATABASE_URL', 'postgres://db/vc'],
    ['VC_DATABASE_URL', 'pglite:memory'],
    ['VC_LEGACY_DATABASE_URL', 'mysql://dc:p%40ss@legacy:3306/digital_communication'],
  ])('a %s that parses is taken as given (%s)', (name, value) => {
    expect((loadConfig({ [name]: value }) as Record<string, unknown>)[name]).toBe(value);
  });

  it('an empty variable counts as unset', () => {
    expect(loadConfig({ VC_KMS: '' }).VC_KMS).toBe('local:./.data/kms.json');
  });

  it('the participant pushdown is off unless VC_LEGACY_PUSHDOWN=on, and applies to a MariaDB source only', () => {
    const url = 'mysql://u:p@db:3306/digital_communication';
    expect(legacySourceSpec(loadConfig({ VC_LEGACY_DATABASE_URL: url }))).toEqual({ kind: 'mysql', url, pushdown: false });
    expect(legacySourceSpec(loadConfig({ VC_LEGACY_DATABASE_URL: url, VC_LEGACY_PUSHDOWN: 'on' }))).toEqual({ kind: 'mysql', url, pushdown: true });
    expect(legacySourceSpec(loadConfig({ VC_LEGACY_EXPORT_DIR: 'x', VC_LEGACY_PUSHDOWN: 'on' }))).toEqual({ kind: 'csv', dir: 'x' });
    expect(failure({ VC_LEGACY_PUSHDOWN: 'yes' }).message).toContain('VC_LEGACY_PUSHDOWN: expected on or off');
  });

  it('without a legacy source, the error names both variables', () => {
    expect(() => legacySourceSpec(loadConfig({}))).toThrow(/VC_LEGACY_DATABASE_URL .* or VC_LEGACY_EXPORT_DIR/);
  });

  describe('required settings', () => {
    const accessPolicy: SettingRequirement = { anyOf: ['VC_ACCESS_POLICY_URL'], neededBy: 'phase s3 (steps 3.2 and 3.3)' };
    const legacy: SettingRequirement = { anyOf: LEGACY_SOURCE, neededBy: 'phase s1' };

    it('an unset one fails with exit 2 naming the variable, its form and what needs it', () => {
      const error = failure({}, [accessPolicy]);
      expect(error.exitCode).toBe(2);
      expect(error.message).toBe(
        `missing configuration:\n  VC_ACCESS_POLICY_URL (expected ${SETTING_FORMS.VC_ACCESS_POLICY_URL}) is not set: needed by phase s3 (steps 3.2 and 3.3)`,
      );
    });

    it('a one-of group names every variable that would do, and any one of them satisfies it', () => {
      expect(failure({}, [legacy]).message).toContain(
        `VC_LEGACY_DATABASE_URL (expected ${SETTING_FORMS.VC_LEGACY_DATABASE_URL}) or VC_LEGACY_EXPORT_DIR (expected ${SETTING_FORMS.VC_LEGACY_EXPORT_DIR}) is not set`,
      );
      expect(loadConfig({ VC_LEGACY_EXPORT_DIR: 'fixtures/legacy/csv' }, [legacy]).VC_LEGACY_EXPORT_DIR).toBe('fixtures/legacy/csv');
      expect(loadConfig({ VC_LEGACY_DATABASE_URL: 'mysql://u:p@db:3306/digital_communication' }, [legacy]).VC_LEGACY_DATABASE_URL).toBe(
        'mysql://u:p@db:3306/digital_communication',
      );
    });

    it('every unmet requirement is listed, an empty variable counting as unset', () => {
      const error = failure({ VC_ACCESS_POLICY_URL: '', VC_LEGACY_EXPORT_DIR: '' }, [legacy, accessPolicy]);
      expect(
        error.message
          .split('\n')
          .slice(1)
          .map((line) => line.trim().split(' ')[0]),
      ).toEqual(['VC_LEGACY_DATABASE_URL', 'VC_ACCESS_POLICY_URL']);
    });

    it('a malformed variable and a missing one are reported together, never with the value', () => {
      const error = failure({ VC_KMS: 'vault:s3cret-key' }, [accessPolicy]);
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain('VC_KMS: expected local:<keyring path> or aws:');
      expect(error.message).toContain('VC_ACCESS_POLICY_URL (expected');
      expect(error.message).not.toContain('s3cret');
    });

    it('a malformed variable does not also count as missing', () => {
      const error = failure({ VC_ACCESS_POLICY_URL: 'access-policy.internal' }, [accessPolicy]);
      expect(error.message).toBe(`invalid configuration:\n  VC_ACCESS_POLICY_URL: expected ${SETTING_FORMS.VC_ACCESS_POLICY_URL}`);
    });
  });

  // The variables the two apps used to read differently; the service's config.test.ts asserts the same rows.
  describe('the shared vocabulary: empty means unset, one form per variable', () => {
    it('an empty VC_DATABASE_URL is unset (the embedded database) and an empty VC_MODE is unset, not refused', () => {
      const config = loadConfig({ VC_DATABASE_URL: '', VC_MODE: '' });
      expect([config.VC_DATABASE_URL, config.VC_MODE]).toEqual(['pglite:./.data/pg', undefined]);
    });
    it('VC_NATS_URL takes host:port as nats.js does, as well as nats:// and tls:// URLs, and refuses websockets', () => {
      expect(loadConfig({ VC_NATS_URL: '127.0.0.1:4222' }).VC_NATS_URL).toBe('127.0.0.1:4222');
      expect(loadConfig({ VC_NATS_URL: 'nats://127.0.0.1:4222' }).VC_NATS_URL).toBe('nats://127.0.0.1:4222');
      expect(failure({ VC_NATS_URL: 'wss://nats.example:443' }).message).toContain(`VC_NATS_URL: expected ${SETTING_FORMS.VC_NATS_URL}`);
    });
    it('a URL setting must parse as an http(s) URL', () => {
      expect(failure({ VC_FHIR_BASE_URL: 'http://' }).message).toContain('VC_FHIR_BASE_URL: expected an http(s) FHIR R4 base URL');
    });
    it('half a pair of AWS keys is refused naming the missing one, never the key given', () => {
      const error = failure({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' });
      expect(error.message).toContain('AWS_SECRET_ACCESS_KEY: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together, or neither');
      expect(error.message).not.toContain('AKIDEXAMPLE');
    });
  });
});
