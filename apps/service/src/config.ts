import {
  AWS_KMS_SETTINGS,
  addRuleIssue,
  awsKmsConnection,
  describeIssues,
  fields,
  presentSettings,
  refineAwsSettings,
  SETTINGS,
  type SettingName,
} from '@vc/config';
import { z } from 'zod';

/**
 * The service's one config module (docs/design.md §2, §8): every environment variable it reads, in the
 * shared vocabulary's terms (`@vc/config`: one field per variable, empty means unset), validated once by
 * zod, frozen. A bad value fails at start with the variable's name and the expected form — never its value,
 * since some of them are secrets.
 */
/** The variables the service reads, each as the shared vocabulary defines it (VC_MODE with the service's default). */
export const SETTINGS_READ = [
  'PORT',
  'VC_LISTEN_HOST',
  'VC_DATABASE_URL',
  'VC_DATABASE_POOL_MAX',
  'VC_KMS',
  'VC_KMS_ENDPOINT',
  'VC_KMS_CREDENTIALS',
  'VC_NATS_URL',
  'VC_NATS_STREAM',
  'VC_NATS_SUBJECT_PREFIX',
  'VC_FHIR_BASE_URL',
  'VC_ACCESS_POLICY_URL',
  'VC_AUTH_JWKS_URL',
  'VC_AUTH_HS256_SECRET',
  'VC_AUTH_ISSUER',
  'VC_AUTH_AUDIENCE',
  'VC_AUTH_MAX_TOKEN_LIFETIME_S',
  'VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS',
  'VC_RATE_LIMIT_TENANT_PER_MIN',
  'VC_RATE_LIMIT_CALLER_PER_MIN',
  'VC_CORS_ORIGINS',
  'VC_OUTBOUND_ALLOW',
  'VC_OUTBOUND_ALLOW_HTTP',
  'VC_TEST_CRASH_BEFORE_REPLY',
  'VC_LOG_LEVEL',
  ...AWS_KMS_SETTINGS,
  'VC_MODE',
] as const satisfies readonly SettingName[];

const envSchema = z
  .object({
    ...fields(...SETTINGS_READ),
    // The service serves traffic unless told it mirrors it; the migrator leaves VC_MODE unset as a state of its own.
    VC_MODE: SETTINGS.VC_MODE.schema.unwrap().default('live'),
  })
  .superRefine((env, ctx) => {
    if (!env.VC_AUTH_JWKS_URL && !env.VC_AUTH_HS256_SECRET) {
      addRuleIssue(ctx, 'VC_AUTH_JWKS_URL', 'VC_AUTH_JWKS_URL (production) or VC_AUTH_HS256_SECRET (dev/tests)');
    }
    refineAwsSettings(env, ctx);
  })
  .transform((e) => ({
    port: e.PORT,
    listenHost: e.VC_LISTEN_HOST,
    mode: e.VC_MODE,
    databaseUrl: e.VC_DATABASE_URL,
    /** PostgreSQL connections of this process (PGlite has one). */
    databasePoolMax: e.VC_DATABASE_POOL_MAX,
    kms: e.VC_KMS,
    /** How an `aws:` VC_KMS reaches AWS (region, endpoint, credentials). */
    kmsAws: awsKmsConnection(e),
    natsUrl: e.VC_NATS_URL,
    natsStream: e.VC_NATS_STREAM,
    natsSubjectPrefix: e.VC_NATS_SUBJECT_PREFIX,
    fhirBaseUrl: e.VC_FHIR_BASE_URL,
    accessPolicyUrl: e.VC_ACCESS_POLICY_URL,
    auth: Object.freeze({
      jwksUrl: e.VC_AUTH_JWKS_URL,
      hs256Secret: e.VC_AUTH_HS256_SECRET,
      issuer: e.VC_AUTH_ISSUER,
      audience: e.VC_AUTH_AUDIENCE,
      maxTokenLifetimeSeconds: e.VC_AUTH_MAX_TOKEN_LIFETIME_S,
    }),
    /** An Idempotency-Key claim without a reply this old belongs to a dead process: a retry may take it over. */
    idempotencyClaimTimeoutMs: e.VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS,
    /** Tests only: SIGKILL the process after a keyed create committed, before its reply is sent. */
    testCrashBeforeReply: e.VC_TEST_CRASH_BEFORE_REPLY,
    /** Requests per minute per tenant and per caller (tenant + sub); 0 turns a limit off. */
    rateLimit: Object.freeze({ tenantPerMinute: e.VC_RATE_LIMIT_TENANT_PER_MIN, callerPerMinute: e.VC_RATE_LIMIT_CALLER_PER_MIN }),
    /** Browser origins allowed by CORS; empty = no CORS headers (the default). */
    corsOrigins: Object.freeze(e.VC_CORS_ORIGINS) as readonly string[],
    /** Where test-connection may reach: private/loopback ranges it may probe, and whether plain http is allowed (dev). */
    outbound: Object.freeze({ allow: Object.freeze(e.VC_OUTBOUND_ALLOW) as readonly string[], allowHttp: e.VC_OUTBOUND_ALLOW_HTTP }),
    logLevel: e.VC_LOG_LEVEL,
  }));

/** The environment as given (strings), e.g. for a test harness that builds one. */
export type Env = z.input<typeof envSchema>;

/** The service's settings: the schema's output, never a hand-written copy. */
export type ServiceConfig = z.infer<typeof envSchema>;

/** A config error names every bad variable and what was expected, never the value given. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment once; the result is frozen. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<ServiceConfig> {
  const parsed = envSchema.safeParse(presentSettings(env));
  if (!parsed.success) throw new ConfigError(`invalid service configuration: ${describeIssues(parsed.error).join('; ')}`);
  return Object.freeze(parsed.data);
}
