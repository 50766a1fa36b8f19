import ipaddr from 'ipaddr.js';
import { z } from 'zod';

/**
 * The vocabulary of the environment: one zod field per variable either app reads, with the form an error
 * message states. Both apps build their schema from these fields, so a variable means the same in each;
 * an app adds only its own defaults (`VC_MODE` is `live` for the service and unset for the migrator).
 */
interface Setting<S extends z.ZodType> {
  /** What is expected, as `NAME: expected <form>` says it; never the value, which may be a secret. */
  readonly form: string;
  readonly schema: S;
}

/** The `aud` caller tokens must carry when VC_AUTH_AUDIENCE is unset (dev and test token minters use it too). */
export const DEFAULT_TOKEN_AUDIENCE = 'virtual-care';

const setting = <S extends z.ZodType>(form: string, schema: S): Setting<S> => ({ form, schema });

const httpUrl = z.string().refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol));
const streamName = z.string().regex(/^[A-Za-z0-9_-]+$/);
const kmsSpec = z.string().regex(/^(local|aws):.+/);
/**
 * Why a database URL that has the right scheme still cannot be connected with, or undefined when it can: the
 * drivers parse it as a WHATWG URL, so a password with an unencoded `/` (cutting the host short) or a port past
 * 65535 would otherwise fail at connect time with the driver's own stack. Says what is wrong, never the value.
 */
export function databaseUrlProblem(value: string): string | undefined {
  const rest = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : '';
  if (/[/?#]/.test(userinfo)) return 'a reserved character (/ ? #) in the user name or password must be percent-encoded';
  try {
    decodeURIComponent(userinfo);
  } catch {
    return 'a "%" in the user name or password must be percent-encoded as %25';
  }
  const hostPort = (at >= 0 ? rest.slice(at + 1) : rest).split(/[/?#]/)[0] ?? '';
  const port = /:([^:\]]*)$/.exec(hostPort)?.[1];
  if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535)) return 'the port must be a number 1-65535';
  if (!URL.canParse(value)) return 'it does not parse as a URL (a reserved character in the password must be percent-encoded)';
  if (new URL(value).hostname === '') return 'it names no host';
  return undefined;
}

/** A URL of one of these schemes that also parses (see {@link databaseUrlProblem}). */
const databaseUrl = (scheme: RegExp) =>
  z
    .string()
    .regex(scheme)
    .superRefine((value, ctx) => {
      const why = value.startsWith('pglite:') ? undefined : databaseUrlProblem(value);
      if (why) ctx.addIssue({ code: 'custom', message: why, params: { why } });
    });
const mysqlUrl = databaseUrl(/^(mysql|mariadb):\/\/.+/);
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const commaList = (valid: (item: string) => boolean) =>
  z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .refine((items) => items.every(valid));
const isCidr = (v: string): boolean => {
  try {
    ipaddr.parseCIDR(v);
    return true;
  } catch {
    return false;
  }
};
const isOrigin = (v: string) => URL.canParse(v) && new URL(v).origin === v;
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const SETTINGS = {
  // Both apps
  VC_DATABASE_URL: setting(
    'postgres://… or pglite:<dir> (postgres://user:pass@host:port/db; pglite:memory for a throwaway database)',
    databaseUrl(/^(postgres(ql)?:\/\/.+|pglite:.*)$/).default('pglite:./.data/pg'),
  ),
  VC_KMS: setting('local:<keyring path> or aws:<key id or ARN>', kmsSpec.default('local:./.data/kms.json')),
  /** Endpoint of an AWS-KMS-protocol server (a stand-in, LocalStack); the SDK's regional endpoint otherwise. */
  VC_KMS_ENDPOINT: setting('an http(s):// URL of an AWS-KMS-protocol endpoint', httpUrl.optional()),
  /**
   * Where `aws:` KMS credentials come from when AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set:
   * `provider-chain` (the SDK's chain, e.g. an EC2 instance role) or `stand-in` (dummy keys, only for a
   * loopback VC_KMS_ENDPOINT: the stand-in checks that requests are signed, not by whom).
   */
  VC_KMS_CREDENTIALS: setting('provider-chain or stand-in', z.enum(['provider-chain', 'stand-in']).optional()),
  // nats.js takes `host:port` as well as URLs; the Node transport speaks no websockets.
  VC_NATS_URL: setting(
    'nats://host:port, tls://host:port or host:port',
    z
      .string()
      .regex(/^((nats|tls):\/\/[^\s/]+|[^\s:/]+:\d+)$/)
      .optional(),
  ),
  VC_NATS_STREAM: setting('a JetStream stream name', streamName.default('VIRTUAL_CARE')),
  VC_NATS_SUBJECT_PREFIX: setting(
    'empty or a token ending in a dot, e.g. staging.',
    z
      .string()
      .regex(/^([A-Za-z0-9_-]+\.)?$/)
      .default(''),
  ),
  VC_FHIR_BASE_URL: setting('an http(s) FHIR R4 base URL', httpUrl.optional()),
  VC_ACCESS_POLICY_URL: setting('the access-policy base URL, an http(s):// URL', httpUrl.optional()),
  VC_MODE: setting('live or shadow', z.enum(['live', 'shadow']).optional()),
  VC_LOG_LEVEL: setting('fatal|error|warn|info|debug|trace|silent', logLevel.default('info')),

  // Migrator
  VC_LEGACY_DATABASE_URL: setting('mysql://user:pass@host:port/digital_communication', mysqlUrl.optional()),
  VC_LEGACY_EXPORT_DIR: setting('a directory holding the legacy CSV export', z.string().optional()),
  VC_PORTAL_DATABASE_URL: setting('mysql://user:pass@host:port/patient_portal', mysqlUrl.optional()),
  /**
   * S1 1.4 groups participant events in the legacy MariaDB (on) or folds them in the migrator (off). It moves
   * CPU from the migrator to the legacy server: a win when that server is another machine and participants
   * have many events; on one shared box it was slower (bench/RESULTS.md), hence off by default.
   */
  VC_LEGACY_PUSHDOWN: setting('on or off', z.enum(['on', 'off']).default('off')),
  VC_LEGACY_MASTER_KEY: setting(
    'the legacy credentials key: 32 bytes, base64-encoded',
    z
      .string()
      .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32)
      .optional(),
  ),
  VC_LEGACY_KMS: setting('aws:<key id or ARN> or local:<keyring path>, the key the legacy credentials were encrypted with', kmsSpec.optional()),
  VC_NATS_WORK_STREAM: setting('a JetStream stream name', streamName.default('VC_MIGRATION_WORK')),
  VC_KONG_ADMIN_URL: setting('the Kong Admin API URL, an http(s):// URL', httpUrl.optional()),
  VC_KONG_FILE: setting('a path for the decK file', z.string().optional()),
  VC_LICENSING_URL: setting('the platform licensing API base URL, an http(s):// URL', httpUrl.optional()),
  VC_OPERATOR: setting("who runs the migrator (a person's id), for the run ledger", z.string().trim().min(1).max(200).optional()),
  VC_BUILD_COMMIT: setting(
    "the tool's git commit, 7 to 40 hex digits",
    z
      .string()
      .regex(/^[0-9a-fA-F]{7,40}$/)
      .optional(),
  ),

  // Service
  PORT: setting('a TCP port 0-65535', integer(0, 65_535).default(8080)),
  VC_LISTEN_HOST: setting('an IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1', z.union([z.ipv4(), z.ipv6(), z.literal('localhost')]).default('0.0.0.0')),
  VC_AUTH_JWKS_URL: setting('an https JWKS URL', httpUrl.optional()),
  VC_AUTH_HS256_SECRET: setting('at least 32 characters', z.string().min(32).optional()),
  VC_AUTH_ISSUER: setting('the token issuer', z.string().optional()),
  /**
   * Checked always: a token the identity provider minted for another API (same issuer, same keys) must not
   * pass here. Unset means the default, so a deployment that forgets it still refuses foreign tokens.
   */
  VC_AUTH_AUDIENCE: setting('the token audience (`aud`), default virtual-care', z.string().trim().min(1).max(500).default(DEFAULT_TOKEN_AUDIENCE)),
  VC_AUTH_MAX_TOKEN_LIFETIME_S: setting('seconds, 60-86400', integer(60, 86_400).default(3600)),
  /** PostgreSQL connections of one service process (PGlite has one). */
  VC_DATABASE_POOL_MAX: setting('connections, 1-200', integer(1, 200).default(10)),
  VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS: setting('milliseconds, 100-3600000', integer(100, 3_600_000).default(60_000)),
  VC_RATE_LIMIT_TENANT_PER_MIN: setting('requests per minute, 0 = off', integer(0).default(6000)),
  VC_RATE_LIMIT_CALLER_PER_MIN: setting('requests per minute, 0 = off', integer(0).default(600)),
  VC_CORS_ORIGINS: setting('comma-separated origins such as https://app.example.org', commaList(isOrigin).default([])),
  VC_OUTBOUND_ALLOW: setting('comma-separated IP ranges in CIDR form, e.g. 127.0.0.1/32,10.0.0.0/8', commaList(isCidr).default([])),
  VC_OUTBOUND_ALLOW_HTTP: setting(
    'true or false',
    z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
  ),
  VC_TEST_CRASH_BEFORE_REPLY: setting(
    '0 or 1 (tests only)',
    z
      .enum(['0', '1'])
      .default('0')
      .transform((v) => v === '1'),
  ),

  // The standard AWS environment, for `aws:` KMS specs (read here, passed to the client: see aws-kms.ts).
  AWS_REGION: setting(
    'an AWS region, e.g. eu-west-1',
    z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
      .optional(),
  ),
  AWS_DEFAULT_REGION: setting(
    'an AWS region, e.g. eu-west-1',
    z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/)
      .optional(),
  ),
  AWS_ACCESS_KEY_ID: setting('an AWS access key id', z.string().optional()),
  AWS_SECRET_ACCESS_KEY: setting('an AWS secret access key', z.string().optional()),
  AWS_SESSION_TOKEN: setting('an AWS session token', z.string().optional()),
  // Their presence means the SDK's provider chain has credentials to find (a profile, a web identity, a container role).
  AWS_PROFILE: setting('an AWS profile name', z.string().optional()),
  AWS_WEB_IDENTITY_TOKEN_FILE: setting('a web identity token file', z.string().optional()),
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: setting('a container credentials path', z.string().optional()),
  AWS_CONTAINER_CREDENTIALS_FULL_URI: setting('a container credentials URL', z.string().optional()),
} as const;

export type SettingName = keyof typeof SETTINGS;

/** The form each variable expects, as error messages state it. */
export const SETTING_FORMS = Object.fromEntries(Object.entries(SETTINGS).map(([name, s]) => [name, s.form])) as {
  readonly [N in SettingName]: (typeof SETTINGS)[N]['form'];
};

/** The zod fields of `names`, for an app's `z.object({ ...fields(...), VC_MODE: ….default('live') })`. */
export function fields<const N extends readonly SettingName[]>(...names: N): { [K in N[number]]: (typeof SETTINGS)[K]['schema'] } {
  return Object.fromEntries(names.map((name) => [name, SETTINGS[name].schema])) as { [K in N[number]]: (typeof SETTINGS)[K]['schema'] };
}
