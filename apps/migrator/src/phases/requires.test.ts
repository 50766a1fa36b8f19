import { describe, expect, it } from 'vitest';
import { loadConfig, SETTING_FORMS, type SettingName, type SettingRequirement } from '../config';
import { ONBOARD_REQUIRES } from '../commands/tenant';
import { VALIDATE_REQUIRES } from '../commands/validate';
import { configFailure as failure } from '../testing/config-failure';
import { loadAllPhases } from './index';

/** Every setting a command could need, each well-formed: what a fully configured operator has. */
const COMPLETE: Record<string, string> = {
  VC_DATABASE_URL: 'postgres://vc:pw@db.internal:5432/virtual_care',
  VC_LEGACY_DATABASE_URL: 'mysql://reader:pw@legacy.internal:3306/digital_communication',
  VC_PORTAL_DATABASE_URL: 'mysql://reader:pw@legacy.internal:3306/patient_portal',
  VC_LEGACY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  VC_FHIR_BASE_URL: 'https://ehr.internal/fhir/R4',
  VC_ACCESS_POLICY_URL: 'https://access-policy.internal',
  VC_LICENSING_URL: 'https://licensing.internal',
};

/** What each command needs, as its steps read it (see each phase's steps and engine/services.ts). */
const EXPECTED: Record<string, SettingName[][]> = {
  s0: [],
  s1: [
    ['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'],
    ['VC_LEGACY_MASTER_KEY', 'VC_LEGACY_KMS'],
  ],
  s2: [['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_FHIR_BASE_URL']],
  s3: [['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_PORTAL_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_ACCESS_POLICY_URL']],
  s4: [['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_FHIR_BASE_URL']],
  validate: [['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_PORTAL_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'], ['VC_ACCESS_POLICY_URL']],
  'tenant onboard': [['VC_LICENSING_URL'], ['VC_FHIR_BASE_URL']],
};

const commands: Array<[string, readonly SettingRequirement[]]> = [
  ...(await loadAllPhases()).map((p): [string, readonly SettingRequirement[]] => [p.id, p.requires ?? []]),
  ['validate', VALIDATE_REQUIRES],
  ['tenant onboard', ONBOARD_REQUIRES],
];

function without(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(COMPLETE).filter(([key]) => !names.includes(key)));
}

describe.each(commands)('settings of %s', (name, requires) => {
  it('are the ones its steps read', () => {
    expect(requires.map((r) => [...r.anyOf])).toEqual(EXPECTED[name]);
  });

  it('a complete environment passes', () => {
    expect(() => loadConfig(COMPLETE, requires)).not.toThrow();
  });

  it.each(EXPECTED[name]!.map((group) => [group.join(' | '), group] as const))(
    'without %s: exit 2 naming each variable and its form, no value',
    (_label, group) => {
      const error = failure(without(group), requires);
      expect(error.exitCode).toBe(2);
      for (const variable of group) expect(error.message).toContain(`${variable} (expected ${SETTING_FORMS[variable]})`);
      expect(error.message).toContain(`needed by ${/^s\d$/.test(name) ? `phase ${name}` : name} (`);
      for (const value of Object.values(COMPLETE)) expect(error.message).not.toContain(value);
    },
  );
});
