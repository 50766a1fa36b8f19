import {
  AWS_KMS_SETTINGS,
  fields,
  presentSettings,
  describeIssues,
  refineAwsSettings,
  SETTING_FORMS as SHARED_FORMS,
  type SettingName as SharedSettingName,
} from '@vc/config';
import { z } from 'zod';
import { ExitError } from './exit-error';

/**
 * The migrator's one config module (docs/design.md §8): every environment variable is read here, once, through
 * zod, and frozen. A bad value fails at start naming the variable and the form expected (exit 2); the
 * message never echoes the value, which may hold credentials. Each command names the settings it cannot
 * run without (`SettingRequirement`); `loadConfig` checks them before the command opens anything.
 */

/** The variables the migrator reads, each as the shared vocabulary (`@vc/config`) defines it. */
export const SETTINGS_READ = [
  'VC_DATABASE_URL',
  'VC_LEGACY_DATABASE_URL',
  'VC_LEGACY_EXPORT_DIR',
  'VC_PORTAL_DATABASE_URL',
  'VC_LEGACY_PUSHDOWN',
  'VC_LEGACY_MASTER_KEY',
  'VC_LEGACY_KMS',
  'VC_KMS',
  'VC_KMS_ENDPOINT',
  'VC_KMS_CREDENTIALS',
  'VC_NATS_URL',
  'VC_NATS_STREAM',
  'VC_NATS_SUBJECT_PREFIX',
  'VC_NATS_WORK_STREAM',
  'VC_FHIR_BASE_URL',
  'VC_ACCESS_POLICY_URL',
  'VC_KONG_ADMIN_URL',
  'VC_KONG_FILE',
  'VC_LICENSING_URL',
  // Unset is a state of its own here: s0 reports it, and S2 (2.3's comparison, 2.4's audit) reads it as shadow.
  'VC_MODE',
  'VC_LOG_LEVEL',
  'VC_OPERATOR',
  'VC_BUILD_COMMIT',
  ...AWS_KMS_SETTINGS,
] as const satisfies readonly SharedSettingName[];

export type SettingName = (typeof SETTINGS_READ)[number];

/** The form each variable expects, as error messages state it (the shared vocabulary's). */
export const SETTING_FORMS: { readonly [N in SettingName]: string } = SHARED_FORMS;

const schema = z.object(fields(...SETTINGS_READ)).superRefine(refineAwsSettings);

export type MigratorConfig = Readonly<z.infer<typeof schema>>;

/**
 * A setting a command cannot run without: at least one of `anyOf` set (`VC_LEGACY_DATABASE_URL` or
 * `VC_LEGACY_EXPORT_DIR`). `neededBy` says what reads it, for the message (e.g. `steps 3.2, 3.3`).
 */
export interface SettingRequirement {
  readonly anyOf: readonly [SettingName, ...SettingName[]];
  readonly neededBy: string;
}

/** The legacy digital-communication source: a MySQL database or a CSV export. */
export const LEGACY_SOURCE = ['VC_LEGACY_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'] as const satisfies readonly SettingName[];
/** The legacy patient-portal source: its MySQL database, or the same CSV export. */
export const PORTAL_SOURCE = ['VC_PORTAL_DATABASE_URL', 'VC_LEGACY_EXPORT_DIR'] as const satisfies readonly SettingName[];
/** What decrypts the legacy Jitsi credentials: the legacy master key, or the legacy KMS key. */
export const LEGACY_CREDENTIAL_KEYS = ['VC_LEGACY_MASTER_KEY', 'VC_LEGACY_KMS'] as const satisfies readonly SettingName[];

/** `VC_X (expected <form>) or VC_Y (expected <form>) is not set: needed by <what>`; never a value. */
export function describeMissing(requirement: SettingRequirement): string {
  return `${requirement.anyOf.map((name) => `${name} (expected ${SETTING_FORMS[name]})`).join(' or ')} is not set: needed by ${requirement.neededBy}`;
}

function unmet(values: Readonly<Record<string, unknown>>, requirements: readonly SettingRequirement[]): string[] {
  return requirements.filter((r) => r.anyOf.every((name) => values[name] === undefined)).map(describeMissing);
}

/**
 * Reads and validates the environment; throws an {@link ExitError} (code 2) naming every bad variable
 * and, for each of `requires` that nothing satisfies, the variables that would and their forms. A
 * command calls it before it opens anything, so a run never starts half-configured.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, requires: readonly SettingRequirement[] = []): MigratorConfig {
  const present = presentSettings(env);
  const parsed = schema.safeParse(present);
  const missing = unmet(present, requires);
  if (!parsed.success) {
    const malformed = describeIssues(parsed.error);
    throw new ExitError(2, `invalid configuration:\n  ${[...malformed, ...missing].join('\n  ')}`);
  }
  if (missing.length > 0) throw new ExitError(2, `missing configuration:\n  ${missing.join('\n  ')}`);
  return Object.freeze(parsed.data);
}

/** Where legacy rows come from, as config says; an error names both variables when neither is set. */
export function legacySourceSpec(config: MigratorConfig): { kind: 'mysql'; url: string; pushdown: boolean } | { kind: 'csv'; dir: string } {
  if (config.VC_LEGACY_DATABASE_URL) return { kind: 'mysql', url: config.VC_LEGACY_DATABASE_URL, pushdown: config.VC_LEGACY_PUSHDOWN === 'on' };
  if (config.VC_LEGACY_EXPORT_DIR) return { kind: 'csv', dir: config.VC_LEGACY_EXPORT_DIR };
  throw new ExitError(2, `no legacy source: ${describeMissing({ anyOf: LEGACY_SOURCE, neededBy: 'reading legacy digital_communication' })}`);
}
