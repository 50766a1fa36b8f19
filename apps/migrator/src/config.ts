import { z } from 'zod';
import { ExitError } from './exit-error';

/**
 * The migrator's one config module (docs/design.md §8): every environment variable is read here, once, through
 * zod, and frozen. A bad value fails at start naming the variable and the form expected (exit 2); the
 * message never echoes the value, which may hold credentials. Each command names the settings it cannot
 * run without (`SettingRequirement`); `loadConfig` checks them before the command opens anything.
 */

/** The form each variable expects, as error messages state it: one table, so every message agrees. */
export const SETTING_FORMS = {
  VC_DATABASE_URL: 'postgres://user:pass@host:port/db or pglite:<dir> (pglite:memory for a throwaway database)',
  VC_LEGACY_DATABASE_URL: 'mysql://user:pass@host:port/digital_communication',
  VC_LEGACY_EXPORT_DIR: 'a directory holding the legacy CSV export',
  VC_PORTAL_DATABASE_URL: 'mysql://user:pass@host:port/patient_portal',
  VC_LEGACY_PUSHDOWN: 'on or off',
  VC_LEGACY_MASTER_KEY: 'the legacy credentials key: 32 bytes, base64-encoded',
  VC_LEGACY_KMS: 'aws:<key id or ARN> or local:<keyring path>, the key the legacy credentials were encrypted with',
  VC_KMS: 'local:<keyring path> or aws:<key id or ARN>',
  VC_KMS_ENDPOINT: 'an http(s):// URL of an AWS-KMS-protocol endpoint',
  VC_NATS_URL: 'nats://host:port',
  VC_NATS_STREAM: 'a JetStream stream name',
  VC_NATS_SUBJECT_PREFIX: 'empty or a token ending in a dot, e.g. staging.',
  VC_NATS_WORK_STREAM: 'a JetStream stream name',
  VC_FHIR_BASE_URL: 'the FHIR R4 base URL, an http(s):// URL',
  VC_ACCESS_POLICY_URL: 'the access-policy base URL, an http(s):// URL',
  VC_KONG_ADMIN_URL: 'the Kong Admin API URL, an http(s):// URL',
  VC_KONG_FILE: 'a path for the decK file',
  VC_LICENSING_URL: 'the platform licensing API base URL, an http(s):// URL',
  VC_MODE: 'live or shadow',
  VC_LOG_LEVEL: 'fatal|error|warn|info|debug|trace|silent',
  VC_OPERATOR: 'who runs the migrator (a person\'s id), for the run ledger',
  VC_BUILD_COMMIT: 'the tool\'s git commit, 7 to 40 hex digits',
} as const;

export type SettingName = keyof typeof SETTING_FORMS;

const F = SETTING_FORMS;
const postgresOrPglite = z.string().regex(/^(postgres(ql)?:\/\/.+|pglite:.*)$/, F.VC_DATABASE_URL);
const mysqlUrl = (form: string) => z.string().regex(/^(mysql|mariadb):\/\/.+/, form);
const kmsSpec = (form: string) => z.string().regex(/^(local:.+|aws:.+)$/, form);
const httpUrl = (form: string) => z.string().regex(/^https?:\/\/.+/, form);
const base64Key = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, F.VC_LEGACY_MASTER_KEY);

const schema = z.object({
  VC_DATABASE_URL: postgresOrPglite.default('pglite:./.data/pg'),
  VC_LEGACY_DATABASE_URL: mysqlUrl(F.VC_LEGACY_DATABASE_URL).optional(),
  VC_LEGACY_EXPORT_DIR: z.string().min(1, F.VC_LEGACY_EXPORT_DIR).optional(),
  VC_PORTAL_DATABASE_URL: mysqlUrl(F.VC_PORTAL_DATABASE_URL).optional(),
  /**
   * S1 1.4 groups participant events in the legacy MariaDB (on) or folds them in the migrator (off). It moves
   * CPU from the migrator to the legacy server: a win when that server is another machine and participants
   * have many events; on one shared box it was slower (bench/RESULTS.md), hence off by default.
   */
  VC_LEGACY_PUSHDOWN: z.enum(['on', 'off'], { error: F.VC_LEGACY_PUSHDOWN }).default('off'),
  VC_LEGACY_MASTER_KEY: base64Key.optional(),
  VC_LEGACY_KMS: kmsSpec(F.VC_LEGACY_KMS).optional(),
  VC_KMS: kmsSpec(F.VC_KMS).default('local:./.data/kms.json'),
  /** Endpoint of an AWS-KMS-protocol server (stand-in, LocalStack); the SDK's default otherwise. */
  VC_KMS_ENDPOINT: httpUrl(F.VC_KMS_ENDPOINT).optional(),
  VC_NATS_URL: z.string().regex(/^(nats|tls):\/\/.+|^[^:/]+:\d+$/, F.VC_NATS_URL).optional(),
  /** The stream S0 ensures; the service publishes to the same (its config reads the same variables). */
  VC_NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, F.VC_NATS_STREAM).default('VIRTUAL_CARE'),
  VC_NATS_SUBJECT_PREFIX: z.string().regex(/^([A-Za-z0-9_-]+\.)?$/, F.VC_NATS_SUBJECT_PREFIX).default(''),
  /** The work-queue stream of distributed plans (`migrator enqueue`, `migrator worker`). */
  VC_NATS_WORK_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, F.VC_NATS_WORK_STREAM).default('VC_MIGRATION_WORK'),
  VC_FHIR_BASE_URL: httpUrl(F.VC_FHIR_BASE_URL).optional(),
  VC_ACCESS_POLICY_URL: httpUrl(F.VC_ACCESS_POLICY_URL).optional(),
  VC_KONG_ADMIN_URL: httpUrl(F.VC_KONG_ADMIN_URL).optional(),
  VC_KONG_FILE: z.string().min(1, F.VC_KONG_FILE).optional(),
  VC_LICENSING_URL: httpUrl(F.VC_LICENSING_URL).optional(),
  VC_MODE: z.enum(['live', 'shadow'], { error: F.VC_MODE }).optional(),
  VC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: F.VC_LOG_LEVEL }).default('info'),
  VC_OPERATOR: z.string().trim().min(1, F.VC_OPERATOR).max(200, F.VC_OPERATOR).optional(),
  VC_BUILD_COMMIT: z.string().regex(/^[0-9a-fA-F]{7,40}$/, F.VC_BUILD_COMMIT).optional(),
} satisfies Record<SettingName, z.ZodType>);

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
  // An empty variable means "not set", as shells and .env files commonly leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('VC_') && value !== ''));
  const parsed = schema.safeParse(present);
  const missing = unmet(present, requires);
  if (!parsed.success) {
    const malformed = parsed.error.issues.map((issue) => `${issue.path.join('.')}: expected ${issue.message}`);
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
