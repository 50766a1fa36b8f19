import { isCutoverRedirectPlugin } from './cutover';

/** What a value a routing copy must not carry reads as instead. */
export const REDACTED = '[redacted]';

/** Field names that hold credentials, wherever they are (a plugin's `redis_password`, a route's `x-api-key` header). */
const SECRET_FIELD = /pass(?:word|wd)|token|secret|key|authori[sz]ation|credential/i;

/**
 * A string that is a credential by itself: a `Name: value` / `name=value` whose name is secret-like (a
 * request-transformer header, a URL query), or an HTTP authorization scheme with its token.
 */
const SECRET_TEXT = /(?:pass(?:word|wd)|token|secret|key|authori[sz]ation|credential)[\w-]*\s*[:=]\s*\S|\b(?:basic|bearer|digest)\s+[\w+/=.~-]{6,}/i;

/**
 * Per plugin, the config fields known to hold settings only (limits, header names, enums). An allow-list:
 * a plugin's config is Kong's or a third party's schema, and the same field name means a header name in one
 * plugin (`cors.headers`) and a `Name: value` with a credential in another (`request-transformer`), so every
 * field not listed here is redacted.
 */
const SETTINGS: Readonly<Record<string, readonly string[]>> = {
  'correlation-id': ['header_name', 'generator', 'echo_downstream'],
  'rate-limiting': [
    'second',
    'minute',
    'hour',
    'day',
    'month',
    'year',
    'limit_by',
    'policy',
    'fault_tolerant',
    'hide_client_headers',
    'error_code',
    'sync_rate',
  ],
  cors: ['origins', 'methods', 'headers', 'exposed_headers', 'max_age', 'preflight_continue', 'private_network'],
  'request-size-limiting': ['allowed_payload_size', 'size_unit', 'require_content_length'],
  prometheus: ['per_consumer', 'status_code_metrics', 'latency_metrics', 'bandwidth_metrics', 'upstream_health_metrics'],
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown) => typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && !SECRET_TEXT.test(value));

function isSetting(plugin: unknown, field: string, value: unknown): boolean {
  const known = typeof plugin === 'string' && Object.hasOwn(SETTINGS, plugin) ? SETTINGS[plugin]! : [];
  return known.includes(field) && !SECRET_FIELD.test(field) && (value === null || isScalar(value) || (Array.isArray(value) && value.every(isScalar)));
}

function redact(value: unknown, field?: string): unknown {
  if (field !== undefined && SECRET_FIELD.test(field) && value !== null && value !== undefined) return REDACTED;
  if (typeof value === 'string') return SECRET_TEXT.test(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'plugins' && Array.isArray(v) ? v.map(redactPlugin) : redact(v, k)]));
}

function redactPlugin(plugin: unknown): unknown {
  // The cutover's own 301 redirect, exactly as planned: paths only, and what an auditor wants to see.
  if (!isObject(plugin) || isCutoverRedirectPlugin(plugin)) return redact(plugin);
  return Object.fromEntries(
    Object.entries(plugin).map(([k, v]) => {
      if (k !== 'config') return [k, redact(v, k)];
      if (v === null || v === undefined) return [k, v];
      return [k, isObject(v) ? Object.fromEntries(Object.entries(v).map(([f, s]) => [f, isSetting(plugin.name, f, s) ? s : REDACTED])) : REDACTED];
    }),
  );
}

/**
 * A copy of a routing snapshot (or of any JSON holding one) fit to leave the migration database: every
 * plugin config value that is not a known setting, every field named like a credential and every string
 * that is one (`X-Api-Key: …`, `Basic …`) reads {@link REDACTED}. The stored snapshot keeps them: rollback
 * restores it to Kong as it was.
 */
export function redactKongSecrets<T>(routing: T): T {
  return redact(routing) as T;
}

const shown = (key: string) => (/^[\w.-]{1,40}$/.test(key) ? key : '…');

function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (a === b) return undefined;
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const found = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (isObject(a) && isObject(b)) {
    for (const key of Object.keys(a)) {
      const found = firstDifference(a[key], b[key], path ? `${path}.${shown(key)}` : shown(key));
      if (found) return found;
    }
    return undefined;
  }
  return path || 'the document';
}

/**
 * Where `routing` (parsed JSON) carries what {@link redactKongSecrets} would redact, as a path of field
 * names (never the value), or `undefined` when it carries none: the check a routing copy passes before it
 * is written where auditors read it.
 */
export function kongSecretLeak(routing: unknown): string | undefined {
  return firstDifference(routing, redactKongSecrets(routing), '');
}
