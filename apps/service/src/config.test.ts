import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const base = { VC_AUTH_HS256_SECRET: 'x'.repeat(32) };

describe('loadConfig', () => {
  it('gives the embedded defaults and freezes the result', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      port: 8080,
      mode: 'live',
      databaseUrl: 'pglite:./.data/pg',
      kms: 'local:./.data/kms.json',
      natsUrl: undefined,
      natsStream: 'VIRTUAL_CARE',
      natsSubjectPrefix: '',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it('checks the token audience by default (virtual-care), and takes another from VC_AUTH_AUDIENCE', () => {
    expect(loadConfig(base).auth.audience).toBe('virtual-care');
    expect(loadConfig({ ...base, VC_AUTH_AUDIENCE: ' ' }).auth.audience).toBe('virtual-care');
    expect(loadConfig({ ...base, VC_AUTH_AUDIENCE: 'api://telehealth' }).auth.audience).toBe('api://telehealth');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT: expected a TCP port 0-65535'],
    [{ VC_MODE: 'dry' }, 'VC_MODE: expected live or shadow'],
    [{ VC_DATABASE_URL: 'mysql://x' }, 'VC_DATABASE_URL: expected postgres://… or pglite:<dir>'],
    [{ VC_KMS: 'vault:x' }, 'VC_KMS: expected local:<keyring path> or aws:<key id or ARN>'],
    [{ VC_NATS_URL: 'wss://nats.example:443' }, 'VC_NATS_URL: expected nats://host:port'],
    [{ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE' }, 'AWS_SECRET_ACCESS_KEY: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY together, or neither'],
    [{ VC_NATS_URL: 'http://nats' }, 'VC_NATS_URL: expected nats://host:port'],
    [{ VC_FHIR_BASE_URL: 'not a url' }, 'VC_FHIR_BASE_URL: expected an http(s) FHIR R4 base URL'],
    [{ VC_AUTH_HS256_SECRET: 'short' }, 'VC_AUTH_HS256_SECRET: expected at least 32 characters'],
  ])('names the variable and the expected form for %o', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('requires a JWKS URL or an HS256 secret, and never echoes a secret it refuses', () => {
    expect(() => loadConfig({})).toThrow('VC_AUTH_JWKS_URL: expected VC_AUTH_JWKS_URL (production) or VC_AUTH_HS256_SECRET (dev/tests)');
    const refused = (() => {
      try {
        loadConfig({ VC_AUTH_HS256_SECRET: 'hunter2' });
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toContain('VC_AUTH_HS256_SECRET');
    expect((refused as Error).message).not.toContain('hunter2');
  });

  // The variables the two apps used to read differently; the migrator's config.test.ts asserts the same rows.
  describe('the shared vocabulary: empty means unset, one form per variable', () => {
    it('an empty PORT is unset (8080), not port 0 (a random port)', () => {
      expect(loadConfig({ ...base, PORT: '' }).port).toBe(8080);
      expect(loadConfig({ ...base, PORT: '0' }).port).toBe(0);
    });
    it('an empty VC_DATABASE_URL or VC_MODE is unset: the defaults apply instead of a refusal', () => {
      expect(loadConfig({ ...base, VC_DATABASE_URL: '', VC_MODE: ' ' })).toMatchObject({ databaseUrl: 'pglite:./.data/pg', mode: 'live' });
    });
    it('VC_NATS_URL takes host:port as nats.js does, as well as nats:// and tls:// URLs', () => {
      expect(loadConfig({ ...base, VC_NATS_URL: '127.0.0.1:4222' }).natsUrl).toBe('127.0.0.1:4222');
      expect(loadConfig({ ...base, VC_NATS_URL: 'tls://nats.internal:4222' }).natsUrl).toBe('tls://nats.internal:4222');
    });
    it('an aws: KMS gets its region, endpoint and credentials from config', () => {
      const config = loadConfig({ ...base, VC_KMS: 'aws:alias/vc', VC_KMS_ENDPOINT: 'http://127.0.0.1:4599', VC_KMS_CREDENTIALS: 'stand-in' });
      expect(config.kmsAws).toEqual({ endpoint: 'http://127.0.0.1:4599', region: 'us-east-1', credentials: 'stand-in' });
      expect(loadConfig({ ...base, VC_KMS: 'aws:alias/vc', AWS_REGION: 'eu-west-1' }).kmsAws).toEqual({ region: 'eu-west-1', credentials: 'none' });
    });
  });
});
