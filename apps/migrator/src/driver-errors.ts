import { PG_ERROR, pgErrorCode } from '@vc/schema';
import { UsageError } from './engine/errors';

/**
 * Driver errors an operator cannot act on as printed (`relation "vc_migration.runs" does not exist`,
 * `connect ECONNREFUSED 127.0.0.1:5432` with a stack) become one line naming the variable to check and
 * what to run, exit 2: they are faults of configuration or environment, not of a step. Messages name
 * host:port only, never a URL (it may hold a password).
 */

/** The variables that name a server, with the port their scheme implies when none is given. */
const ADDRESS_VARIABLES = [
  'VC_DATABASE_URL',
  'VC_LEGACY_DATABASE_URL',
  'VC_PORTAL_DATABASE_URL',
  'VC_NATS_URL',
  'VC_KMS_ENDPOINT',
  'VC_FHIR_BASE_URL',
  'VC_ACCESS_POLICY_URL',
  'VC_KONG_ADMIN_URL',
  'VC_LICENSING_URL',
] as const;
export type AddressVariable = (typeof ADDRESS_VARIABLES)[number];

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  'postgres:': '5432',
  'postgresql:': '5432',
  'mysql:': '3306',
  'mariadb:': '3306',
  'nats:': '4222',
  'tls:': '4222',
  'http:': '80',
  'https:': '443',
};

/** Connect-time failures: the server is not there (or not at that name), as opposed to a dropped connection. */
const UNREACHABLE_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  // nats.js reports a refused connection in its own words, without the address.
  CONNECTION_REFUSED: 'connection refused',
};

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

interface Endpoint {
  host: string;
  port: string;
}

/** host:port of a variable's value, or undefined when it names no server (a pglite: directory). */
export function endpointOf(name: AddressVariable, value: string | undefined): Endpoint | undefined {
  if (!value) return undefined;
  // VC_NATS_URL may be a bare host:port.
  const text = name === 'VC_NATS_URL' && !value.includes('://') ? `nats://${value}` : value;
  try {
    const url = new URL(text);
    if (!url.hostname || !(url.protocol in DEFAULT_PORTS)) return undefined;
    return { host: url.hostname, port: url.port || DEFAULT_PORTS[url.protocol]! };
  } catch {
    return undefined;
  }
}

/** Every error in a cause chain and inside AggregateErrors (Node 20 tries ::1 and 127.0.0.1 for localhost). */
function* chain(error: unknown, depth = 0): Generator<Record<string, unknown>> {
  if (!error || typeof error !== 'object' || depth > 6) return;
  yield error as Record<string, unknown>;
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested)) for (const e of nested) yield* chain(e, depth + 1);
  yield* chain((error as { cause?: unknown }).cause, depth + 1);
}

function sameHost(configured: string, seen: string): boolean {
  return configured === seen || (LOOPBACK.has(configured) && LOOPBACK.has(seen));
}

function codeOf(e: Record<string, unknown>): string | undefined {
  if (typeof e.code === 'string' && e.code in UNREACHABLE_CODES) return e.code;
  // nats.js: `ConnectionError: CONNECTION_REFUSED`, sometimes with the code only in the message.
  if (typeof e.message === 'string' && /\bCONNECTION_REFUSED\b/.test(e.message)) return 'CONNECTION_REFUSED';
  return undefined;
}

/**
 * The unreachable-server error as "cannot reach VC_X at host:port (connection refused)", exit 2, or
 * undefined when `error` is something else. `hint` is the variable the caller knows it was using
 * (a service client); without it the variable is found by the address the driver reports.
 */
export function unreachableError(error: unknown, env: Readonly<Record<string, string | undefined>>, hint?: AddressVariable): UsageError | undefined {
  for (const e of chain(error)) {
    const code = codeOf(e);
    if (!code) continue;
    const address = typeof e.address === 'string' ? e.address : typeof e.hostname === 'string' ? e.hostname : undefined;
    const port = e.port === undefined || e.port === null ? undefined : String(e.port);
    const named: AddressVariable[] = hint
      ? [hint]
      : code === 'CONNECTION_REFUSED'
        ? ['VC_NATS_URL']
        : ADDRESS_VARIABLES.filter((name) => {
            const at = endpointOf(name, env[name]);
            return at !== undefined && address !== undefined && sameHost(at.host, address) && (port === undefined || port === at.port);
          });
    const configured = named.length > 0 ? endpointOf(named[0]!, env[named[0]!]) : undefined;
    const where = configured ? `${configured.host}:${configured.port}` : address ? `${address}${port ? `:${port}` : ''}` : 'its address';
    const what = named.length > 0 ? named.join(' or ') : 'a configured server';
    return new UsageError(`cannot reach ${what} at ${where} (${UNREACHABLE_CODES[code]}): check the variable and that the server is up`, { cause: error });
  }
  return undefined;
}

/** The target has no `vc_migration` schema yet: S0 has not run against it. */
export function notBootstrappedError(error: unknown): UsageError | undefined {
  if (pgErrorCode(error) !== PG_ERROR.undefinedTable) return undefined;
  const message = [...chain(error)].map((e) => String(e.message ?? '')).join(' ');
  if (!/vc_migration\.|relation "(virtual_sessions|tenant_virtual_care_configs|session_participants)"/.test(message)) return undefined;
  return new UsageError(
    'the target database (VC_DATABASE_URL) has no migration state: phase s0 has not run on it. Run `pnpm migrator phase s0` first, then this command again',
    { cause: error },
  );
}

/** An error bin.ts should print as a one-line configuration/environment fault (exit 2), if it is one. */
export function explainDriverError(error: unknown, env: Readonly<Record<string, string | undefined>>): UsageError | undefined {
  return notBootstrappedError(error) ?? unreachableError(error, env);
}

/** `scheme://user:secret@host` → `scheme://user:***@host`, for any message that quotes a URL. */
export function withoutSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:***@');
}
