import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const base = { VC_AUTH_HS256_SECRET: 'x'.repeat(32) };

describe('loadConfig', () => {
  it('gives the embedded defaults and freezes the result', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ port: 8080, mode: 'live', databaseUrl: 'pglite:./.data/pg', kms: 'local:./.data/kms.json', natsUrl: undefined, natsStream: 'VIRTUAL_CARE', natsSubjectPrefix: '' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT: expected a TCP port 0-65535'],
    [{ VC_MODE: 'dry' }, 'VC_MODE: expected live or shadow'],
    [{ VC_DATABASE_URL: 'mysql://x' }, 'VC_DATABASE_URL: expected postgres://… or pglite:<dir>'],
    [{ VC_KMS: 'vault:x' }, 'VC_KMS: expected local:<path> or aws:<key-id>'],
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
});
