import { describe, expect, it } from 'vitest';
import { legacySourceSpec, loadConfig } from './config';
import { ExitError } from './exit-error';

function failure(env: NodeJS.ProcessEnv): ExitError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ExitError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to fail');
}

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

  it('an empty variable counts as unset', () => {
    expect(loadConfig({ VC_KMS: '' }).VC_KMS).toBe('local:./.data/kms.json');
  });

  it('without a legacy source, the error names both variables', () => {
    expect(() => legacySourceSpec(loadConfig({}))).toThrow(/VC_LEGACY_DATABASE_URL .* or VC_LEGACY_EXPORT_DIR/);
  });
});
