/**
 * `pnpm service --help`: what the service reads and how to start it, printed without loading any
 * configuration (an operator asks for help precisely when the environment is not set up yet).
 */
export const SERVICE_HELP = `Usage: pnpm service [--help]

virtual-care-service: the live telehealth session API (/api/v1/virtual-care), its outbox relay to
FHIR and NATS JetStream, /healthz, /readyz, /metrics, /openapi.json and /docs. Configured by environment
only; it listens until SIGINT/SIGTERM, then drains requests and the outbox relay and exits 0.

Environment (every variable and its default: README.md, Configuration):
  VC_DATABASE_URL                postgres://user:pass@host:5432/virtual_care or pglite:<dir> (default pglite:./.data/pg)
  VC_KMS                         local:<keyring file> (default local:./.data/kms.json) or aws:<key id or ARN>
  VC_KMS_ENDPOINT, VC_KMS_CREDENTIALS   aws: KMS endpoint (LocalStack, a stand-in) and credentials source;
                                 the standard AWS_REGION / AWS_ACCESS_KEY_ID / AWS_PROFILE … are read too
  VC_MODE                        live (default) or shadow (until the S4 cutover: no Encounters, no billing)
  PORT                           listen port (default 8080; 0 = any free port)
  VC_LISTEN_HOST                 listen address (default 0.0.0.0)
  VC_DATABASE_POOL_MAX           PostgreSQL connections of one process (1-200, default 10)
  VC_AUTH_JWKS_URL               JWKS URL of the identity provider (production)   } one of the two
  VC_AUTH_HS256_SECRET           shared HS256 secret, 32+ characters (dev, tests)  } is required
  VC_AUTH_AUDIENCE               expected aud of caller tokens, always checked (default virtual-care)
  VC_AUTH_ISSUER                 expected iss of caller tokens (optional)
  VC_AUTH_MAX_TOKEN_LIFETIME_S   longest caller-token lifetime accepted (default 3600)
  VC_NATS_URL                    NATS JetStream nats://host:4222 (optional: events stay in the outbox)
  VC_NATS_STREAM                 JetStream stream (default VIRTUAL_CARE); VC_NATS_SUBJECT_PREFIX e.g. staging.
  VC_FHIR_BASE_URL               EHR FHIR R4 base URL (optional: no Encounters sent)
  VC_ACCESS_POLICY_URL           access-policy base URL (optional: patient joins refused)
  VC_RATE_LIMIT_TENANT_PER_MIN, VC_RATE_LIMIT_CALLER_PER_MIN   per-instance limits (0 = off)
  VC_IDEMPOTENCY_CLAIM_TIMEOUT_MS   an unanswered Idempotency-Key claim this old is taken over
  VC_CORS_ORIGINS                comma-separated browser origins allowed
  VC_OUTBOUND_ALLOW, VC_OUTBOUND_ALLOW_HTTP   what tenant test-connection may reach (CIDRs; plain http)
  VC_LOG_LEVEL                   fatal|error|warn|info|debug|trace|silent (default info)
  VC_TEST_CRASH_BEFORE_REPLY     tests only: 1 kills the process after a keyed create commits, before it replies

A missing or malformed variable stops the service with exit 2, naming it (never its value).

Rehearsal on loopback stand-ins (FHIR, access-policy, Kong, KMS, Jitsi):
  $ pnpm stand-ins            # prints the VC_* lines to export, keeps running until Ctrl-C
  $ VC_AUTH_HS256_SECRET=… pnpm service
`;

/** True when the command line asks for help (`--help` or `-h`). */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
