import ipaddr from 'ipaddr.js';
import { z } from 'zod';

const isCidr = (v: string): boolean => {
  try {
    ipaddr.parseCIDR(v);
    return true;
  } catch {
    return false;
  }
};

/**
 * The service's one config module (docs/design.md §2, §8): every environment variable it reads, validated once by
 * zod, frozen. A bad value fails at start with the variable's name and the expected form — never its value,
 * since some of them are secrets.
 */

const optionalUrl = (expected: string, protocols: RegExp) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || (URL.canParse(v) && protocols.test(v)), { message: `expected ${expected}` });

const envSchema = z
  .object({
    PORT: z.coerce.number({ message: 'expected a TCP port 0-65535' }).int().min(0).max(65_535).default(8080),
    VC_LISTEN_HOST: z.union([z.ipv4(), z.ipv6(), z.literal('localhost')], { message: 'expected an IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1' }).default('0.0.0.0'),
    VC_MODE: z.enum(['live', 'shadow'], { message: 'expected live or shadow' }).default('live'),
    VC_DATABASE_URL: z
      .string()
      .default('pglite:./.data/pg')
      .refine((v) => /^postgres(ql)?:\/\//.test(v) || v.startsWith('pglite:'), { message: 'expected postgres://… or pglite:<dir>' }),
    VC_DATABASE_POOL_MAX: z.coerce.number({ message: 'expected connections, 1-200' }).int().min(1).max(200).default(10),
    VC_KMS: z
      .string()
      .default('local:./.data/kms.json')
      .refine((v) => /^(local|aws):.+/.test(v), { message: 'expected local:<path> or aws:<key-id>' }),
    VC_NATS_URL: optionalUrl('nats://host:port', /^(nats|tls|wss?):\/\//),
    VC_NATS_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'expected a JetStream stream name' }).default('VIRTUAL_CARE'),
    VC_NATS_SUBJECT_PREFIX: z
      .string()
      .regex(/^([A-Za-z0-9_-]+\.)?$/, { message: 'expected empty or a token ending in a dot, e.g. staging.' })
      .default(''),
    VC_FHIR_BASE_URL: optionalUrl('an http(s) FHIR R4 base URL', /^https?:\/\//),
    VC_ACCESS_POLICY_URL: optionalUrl('an http(s) URL', /^https?:\/\//),
    VC_AUTH_JWKS_URL: optionalUrl('an https JWKS URL', /^https?:\/\//),
    VC_AUTH_HS256_SECRET: z.string().min(32, { message: 'expected at least 32 characters' }).optional(),
    VC_AUTH_ISSUER: z.string().min(1).optional(),
    VC_AUTH_AUDIENCE: z.string().min(1).optional(),
    VC_AUTH_MAX_TOKEN_LIFETIME_S: z.coerce.number({ message: 'expected seconds, 60-86400' }).int().min(60).max(86_400).default(3600),
    VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS: z.coerce.number({ message: 'expected milliseconds, 100-3600000' }).int().min(100).max(3_600_000).default(60_000),
    VC_RATE_LIMIT_TENANT_PER_MIN: z.coerce.number({ message: 'expected requests per minute, 0 = off' }).int().min(0).default(6000),
    VC_RATE_LIMIT_CALLER_PER_MIN: z.coerce.number({ message: 'expected requests per minute, 0 = off' }).int().min(0).default(600),
    VC_CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
      .refine((origins) => origins.every((o) => URL.canParse(o) && new URL(o).origin === o), { message: 'expected comma-separated origins such as https://app.example.org' }),
    VC_OUTBOUND_ALLOW: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
      .refine((cidrs) => cidrs.every((c) => isCidr(c)), { message: 'expected comma-separated IP ranges in CIDR form, e.g. 127.0.0.1/32,10.0.0.0/8' }),
    VC_OUTBOUND_ALLOW_HTTP: z.enum(['true', 'false'], { message: 'expected true or false' }).default('false'),
    VC_TEST_CRASH_BEFORE_REPLY: z.enum(['0', '1'], { message: 'expected 0 or 1 (tests only)' }).default('0'),
    VC_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected a pino level' }).default('info'),
  })
  .superRefine((env, ctx) => {
    if (!env.VC_AUTH_JWKS_URL && !env.VC_AUTH_HS256_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['VC_AUTH_JWKS_URL'], message: 'expected VC_AUTH_JWKS_URL (production) or VC_AUTH_HS256_SECRET (dev/tests)' });
    }
  });

export type Env = z.input<typeof envSchema>;

export interface ServiceConfig {
  port: number;
  listenHost: string;
  mode: 'live' | 'shadow';
  databaseUrl: string;
  /** PostgreSQL connections of this process (PGlite has one). */
  databasePoolMax: number;
  kms: string;
  natsUrl: string | undefined;
  natsStream: string;
  natsSubjectPrefix: string;
  fhirBaseUrl: string | undefined;
  accessPolicyUrl: string | undefined;
  auth: { jwksUrl: string | undefined; hs256Secret: string | undefined; issuer: string | undefined; audience: string | undefined; maxTokenLifetimeSeconds: number };
  /** An Idempotency-Key claim without a reply this old belongs to a dead process: a retry may take it over. */
  idempotencyClaimTimeoutMs: number;
  /** Tests only: SIGKILL the process after a keyed create committed, before its reply is sent. */
  testCrashBeforeReply: boolean;
  /** Requests per minute per tenant and per caller (tenant + sub); 0 turns a limit off. */
  rateLimit: { tenantPerMinute: number; callerPerMinute: number };
  /** Browser origins allowed by CORS; empty = no CORS headers (the default). */
  corsOrigins: readonly string[];
  /** Where test-connection may reach: private/loopback ranges it may probe, and whether plain http is allowed (dev). */
  outbound: { allow: readonly string[]; allowHttp: boolean };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** A config error names every bad variable and what was expected, never the value given. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads and validates the environment once; the result is frozen. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<ServiceConfig> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`);
    throw new ConfigError(`invalid service configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    listenHost: e.VC_LISTEN_HOST,
    mode: e.VC_MODE,
    databaseUrl: e.VC_DATABASE_URL,
    databasePoolMax: e.VC_DATABASE_POOL_MAX,
    kms: e.VC_KMS,
    natsUrl: e.VC_NATS_URL,
    natsStream: e.VC_NATS_STREAM,
    natsSubjectPrefix: e.VC_NATS_SUBJECT_PREFIX,
    fhirBaseUrl: e.VC_FHIR_BASE_URL,
    accessPolicyUrl: e.VC_ACCESS_POLICY_URL,
    auth: Object.freeze({ jwksUrl: e.VC_AUTH_JWKS_URL, hs256Secret: e.VC_AUTH_HS256_SECRET, issuer: e.VC_AUTH_ISSUER, audience: e.VC_AUTH_AUDIENCE, maxTokenLifetimeSeconds: e.VC_AUTH_MAX_TOKEN_LIFETIME_S }),
    idempotencyClaimTimeoutMs: e.VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS,
    testCrashBeforeReply: e.VC_TEST_CRASH_BEFORE_REPLY === '1',
    rateLimit: Object.freeze({ tenantPerMinute: e.VC_RATE_LIMIT_TENANT_PER_MIN, callerPerMinute: e.VC_RATE_LIMIT_CALLER_PER_MIN }),
    corsOrigins: Object.freeze(e.VC_CORS_ORIGINS),
    outbound: Object.freeze({ allow: Object.freeze(e.VC_OUTBOUND_ALLOW), allowHttp: e.VC_OUTBOUND_ALLOW_HTTP === 'true' }),
    logLevel: e.VC_LOG_LEVEL,
  });
}
