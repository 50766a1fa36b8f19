import { z } from 'zod';
import { ExitError } from './exit-error';

/**
 * The migrator's one config module (DESIGN §8): every environment variable is read here, once, through
 * zod, and frozen. A bad value fails at start naming the variable and the form expected (exit 2); the
 * message never echoes the value, which may hold credentials.
 */
const postgresOrPglite = z
  .string()
  .regex(/^(postgres(ql)?:\/\/.+|pglite:.*)$/, 'postgres://user:pass@host:port/db or pglite:<dir> (pglite:memory for a throwaway database)');
const mysqlUrl = z.string().regex(/^(mysql|mariadb):\/\/.+/, 'mysql://user:pass@host:port/digital_communication');
const kmsSpec = z.string().regex(/^(local:.+|aws:.+)$/, 'local:<keyring path> or aws:<key id or ARN>');
const httpUrl = z.string().regex(/^https?:\/\/.+/, 'an http(s):// URL');
const base64Key = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, '32 bytes, base64-encoded');

const schema = z.object({
  VC_DATABASE_URL: postgresOrPglite.default('pglite:./.data/pg'),
  VC_LEGACY_DATABASE_URL: mysqlUrl.optional(),
  VC_LEGACY_EXPORT_DIR: z.string().min(1, 'a directory holding the legacy CSV export').optional(),
  VC_PORTAL_DATABASE_URL: mysqlUrl.optional(),
  VC_LEGACY_MASTER_KEY: base64Key.optional(),
  VC_LEGACY_KMS: kmsSpec.optional(),
  VC_KMS: kmsSpec.default('local:./.data/kms.json'),
  /** Endpoint of an AWS-KMS-protocol server (stand-in, LocalStack); the SDK's default otherwise. */
  VC_KMS_ENDPOINT: httpUrl.optional(),
  VC_NATS_URL: z.string().regex(/^(nats|tls):\/\/.+|^[^:/]+:\d+$/, 'nats://host:port').optional(),
  /** The stream S0 ensures; the service publishes to the same (its config reads the same variables). */
  VC_NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a JetStream stream name').default('VIRTUAL_CARE'),
  VC_NATS_SUBJECT_PREFIX: z.string().regex(/^([A-Za-z0-9_-]+\.)?$/, 'empty or a token ending in a dot, e.g. staging.').default(''),
  VC_FHIR_BASE_URL: httpUrl.optional(),
  VC_ACCESS_POLICY_URL: httpUrl.optional(),
  VC_KONG_ADMIN_URL: httpUrl.optional(),
  VC_KONG_FILE: z.string().min(1, 'a path for the decK file').optional(),
  VC_LICENSING_URL: httpUrl.optional(),
  VC_MODE: z.enum(['live', 'shadow'], { error: 'live or shadow' }).optional(),
  VC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'fatal|error|warn|info|debug|trace|silent' }).default('info'),
});

export type MigratorConfig = Readonly<z.infer<typeof schema>>;

/** Reads and validates the environment; throws an {@link ExitError} (code 2) naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MigratorConfig {
  // An empty variable means "not set", as shells and .env files commonly leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('VC_') && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: expected ${issue.message}`);
    throw new ExitError(2, `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

/** Where legacy rows come from, as config says; an error names both variables when neither is set. */
export function legacySourceSpec(config: MigratorConfig): { kind: 'mysql'; url: string } | { kind: 'csv'; dir: string } {
  if (config.VC_LEGACY_DATABASE_URL) return { kind: 'mysql', url: config.VC_LEGACY_DATABASE_URL };
  if (config.VC_LEGACY_EXPORT_DIR) return { kind: 'csv', dir: config.VC_LEGACY_EXPORT_DIR };
  throw new ExitError(2, 'no legacy source: set VC_LEGACY_DATABASE_URL (mysql://…) or VC_LEGACY_EXPORT_DIR (a CSV export directory)');
}
