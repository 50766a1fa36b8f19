import { z } from 'zod';
import { IntegrationError, isRetryableFrom } from '../errors';
import { checkedBaseUrl, requestJson, type RequestJsonInit } from '../http';
import { withRetry } from '../retry';
import { STORAGE_OUTCOME_SYSTEM, toFhirConsent } from './fhir-consent';
import { TELEHEALTH_CONSENT_CATEGORY, type AccessPolicyClient, type ConsentDecision, type StoredConsent } from './types';

/** Options of {@link createAccessPolicyClient}. */
export interface AccessPolicyClientOptions {
  /** The access-policy base URL (`VC_ACCESS_POLICY_URL`); tenants live under `{baseUrl}/tenants/{tenant}`. */
  baseUrl: string;
  /** Per request; a timeout is a retryable {@link IntegrationError}. Default 2000 ms. */
  timeoutMs?: number;
  /** How long a decision per (tenant, patient) is reused. Default 5000 ms; 0 disables the cache. */
  cacheTtlMs?: number;
  /** Retries of a retryable failure (5xx, timeout, network) after the first attempt, for imports and counts. Default 2. */
  retries?: number;
  /** The same for decisions, which a patient waits on at join: fewer, so an outage answers fast. Default 1. */
  decisionRetries?: number;
  /** Backoff base of those retries. Default 50 ms. */
  retryBaseMs?: number;
  /** Clock of the cache (tests). */
  now?: () => number;
}

const MAX_CACHED = 10_000;

interface CachedDecision {
  decision: ConsentDecision;
  at: number;
  storedAt: number;
}

/**
 * The real access-policy client (protocol in README.md beside this file). Decisions are cached briefly per
 * (tenant, patient) because every patient join asks; an upsert through this client drops that patient's entry.
 * Errors name the tenant and the operation, never the patient.
 */
export function createAccessPolicyClient(options: AccessPolicyClientOptions): AccessPolicyClient {
  const baseUrl = checkedBaseUrl('baseUrl', options.baseUrl);
  const timeoutMs = options.timeoutMs ?? 2000;
  const ttl = options.cacheTtlMs ?? 5000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedDecision>();

  const call = (what: string, tenantId: string, path: string, init: Pick<RequestJsonInit, 'method' | 'headers' | 'body'>, retries = options.retries ?? 2) =>
    withRetry(
      () =>
        requestJson(`${baseUrl}/tenants/${encodeURIComponent(tenantId)}${path}`, {
          ...init,
          timeoutMs,
          system: 'access-policy',
          what: `${what} for tenant ${tenantId}`,
          peer: 'access-policy',
        }),
      { retries, baseMs: options.retryBaseMs ?? 50, isRetryable: isRetryableFrom('access-policy') },
    );

  return {
    async upsertConsent(tenantId, consent) {
      const query = `?identifier=${encodeURIComponent(`${consent.identifier.system}|${consent.identifier.value}`)}`;
      const { status, headers, body } = await call('consent upsert', tenantId, `/Consent${query}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=OperationOutcome' },
        body: JSON.stringify(toFhirConsent(consent)),
      });
      cache.delete(cacheKey(tenantId, consent.patientRef));
      const id = /\/Consent\/([^/]+)/.exec(headers.get('location') ?? '')?.[1];
      if (!id)
        throw new IntegrationError(`consent upsert for tenant ${tenantId}: expected a Location header naming the Consent`, {
          system: 'access-policy',
          status,
          retryable: false,
        });
      const code = storageCode(body, tenantId);
      return { id, created: status === 201, changed: status === 201 || code !== 'SUCCESSFUL_UPDATE_NO_CHANGE' };
    },

    async decideTelehealth(tenantId, patientRef, at) {
      const key = cacheKey(tenantId, patientRef);
      const when = (at ?? new Date(now())).getTime();
      const hit = cache.get(key);
      if (hit && ttl > 0 && now() - hit.storedAt < ttl && Math.abs(when - hit.at) < ttl) return hit.decision;
      const { body } = await call(
        'consent decision',
        tenantId,
        '/decisions',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ patient: patientRef, category: TELEHEALTH_CONSENT_CATEGORY, at: new Date(when).toISOString() }),
        },
        options.decisionRetries ?? 1,
      );
      const decision = parseDecision(body, tenantId);
      if (ttl > 0) remember(cache, key, { decision, at: when, storedAt: now() });
      return decision;
    },

    async findConsents(tenantId, identifiers) {
      const found: StoredConsent[] = [];
      for (let i = 0; i < identifiers.length; i += IDENTIFIERS_PER_SEARCH) {
        const chunk = identifiers.slice(i, i + IDENTIFIERS_PER_SEARCH);
        const tokens = chunk.map((id) => `${id.system}|${escapeToken(id.value)}`).join(',');
        // Twice the identifiers as page size: a full answer fits one page unless identifiers are shared (412 on import).
        const query = `?category=${TELEHEALTH_CONSENT_CATEGORY}&identifier=${encodeURIComponent(tokens)}&_count=${2 * IDENTIFIERS_PER_SEARCH}`;
        const { body } = await call('consent search', tenantId, `/Consent${query}`, { method: 'GET' });
        const bundle = parseReply(searchBundleSchema, body, `consent search for tenant ${tenantId}`, 'a searchset Bundle of Consents');
        const entries = bundle.entry ?? [];
        if (entries.length < bundle.total)
          throw new IntegrationError(`consent search for tenant ${tenantId}: ${bundle.total} matches, ${entries.length} on the first page`, {
            system: 'access-policy',
            status: 200,
            retryable: false,
          });
        found.push(...entries.flatMap((e) => storedConsent(e.resource, chunk)));
      }
      return found;
    },

    async countConsents(tenantId) {
      const { body } = await call('consent count', tenantId, `/Consent?category=${TELEHEALTH_CONSENT_CATEGORY}&_summary=count`, { method: 'GET' });
      return parseReply(countBundleSchema, body, `consent count for tenant ${tenantId}`, 'a Bundle with total').total;
    },
  };
}

/** The decision endpoint's reply (README.md). */
const decisionReplySchema = z.object({
  decision: z.enum(['permit', 'deny']),
  reason: z.enum(['granted', 'revoked', 'expired', 'no_consent']),
  consentId: z.string().nullish(),
});
/** An OperationOutcome as returned with `Prefer: return=OperationOutcome`; only the storage coding matters. */
const storageOutcomeSchema = z
  .object({
    issue: z.array(
      z.object({ details: z.object({ coding: z.array(z.object({ system: z.string().optional(), code: z.string().optional() })).optional() }).optional() }),
    ),
  })
  .optional();
const countBundleSchema = z.object({ resourceType: z.literal('Bundle'), total: z.number().int().nonnegative() });
/** What a search answers, as far as comparing a Consent with legacy reads it. */
const searchBundleSchema = countBundleSchema.extend({
  entry: z
    .array(
      z.object({
        resource: z.object({
          resourceType: z.literal('Consent'),
          identifier: z.array(z.object({ system: z.string().optional(), value: z.string().optional() })).optional(),
          status: z.string(),
          patient: z.object({ reference: z.string() }),
          provision: z.object({ period: z.object({ start: z.string().optional(), end: z.string().optional() }).optional() }).optional(),
        }),
      }),
    )
    .optional(),
});

/** Identifiers per search request: keeps the URL a few kilobytes long. */
const IDENTIFIERS_PER_SEARCH = 50;

/** FHIR search escapes `\`, `,`, `$` and `|` in a token's value with a backslash. */
function escapeToken(value: string): string {
  return value.replace(/[\\,$|]/g, (c) => `\\${c}`);
}

/** The Consent as one StoredConsent per identifier of the search it holds (normally one). */
function storedConsent(
  resource: NonNullable<z.infer<typeof searchBundleSchema>['entry']>[number]['resource'],
  searched: ReadonlyArray<{ system: string; value: string }>,
): StoredConsent[] {
  const period = resource.provision?.period;
  return searched
    .filter((id) => resource.identifier?.some((held) => held.system === id.system && held.value === id.value))
    .map((identifier) => ({
      identifier: { ...identifier },
      patientRef: resource.patient.reference,
      status: resource.status,
      ...(period?.start ? { periodStart: period.start } : {}),
      ...(period?.end ? { periodEnd: period.end } : {}),
    }));
}

function parseReply<T extends z.ZodType>(schema: T, body: unknown, what: string, expected: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new IntegrationError(`${what}: expected ${expected}`, { system: 'access-policy', status: 200, retryable: false, cause: parsed.error });
  return parsed.data;
}

function parseDecision(body: unknown, tenantId: string): ConsentDecision {
  const reply = parseReply(decisionReplySchema, body, `consent decision for tenant ${tenantId}`, '{ decision: permit|deny, reason }');
  return { permitted: reply.decision === 'permit', reason: reply.reason, ...(reply.consentId ? { consentId: reply.consentId } : {}) };
}

function storageCode(body: unknown, tenantId: string): string | undefined {
  const outcome = parseReply(storageOutcomeSchema, body, `consent upsert for tenant ${tenantId}`, 'an OperationOutcome');
  return outcome?.issue.flatMap((i) => i.details?.coding ?? []).find((c) => c.system === STORAGE_OUTCOME_SYSTEM)?.code;
}

function cacheKey(tenantId: string, patientRef: string): string {
  return `${tenantId}\u0000${patientRef}`;
}

function remember(cache: Map<string, CachedDecision>, key: string, entry: CachedDecision): void {
  // Maps keep insertion order: the first key is the oldest, so this bounds memory without an LRU library.
  cache.delete(key);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(key, entry);
}
