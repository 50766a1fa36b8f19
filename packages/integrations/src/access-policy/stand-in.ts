import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { indexR4Definitions } from '../fhir/r4-definitions';
import { describeProblems, r4Problems } from '../fhir/r4-validate';
import { listenOnLoopback } from '../loopback';
import { decideFromConsents, isTelehealth, STORAGE_OUTCOME_SYSTEM, type FhirConsent, type StorageOutcome } from './fhir-consent';
import { TELEHEALTH_CONSENT_CATEGORY } from './types';

/** A running access-policy stand-in (protocol in README.md beside this file). */
export interface AccessPolicyStandIn {
  url: string;
  close(): Promise<void>;
  /** While down, every request answers 503 (an outage the client must report as retryable). */
  setDown(down: boolean): void;
  /** The next `n` requests answer 503, then service resumes (a blip the client's retries should ride out). */
  failNext(n: number): void;
  /** Holds every request this long before answering (to exercise client timeouts). */
  setDelayMs(ms: number): void;
  /** Requests per kind that got past outages and delays, and all requests received, for tests of caching and retries. */
  requests(): { received: number; upserts: number; searches: number; decisions: number };
  /** Stored consents of a tenant, as the server holds them. */
  consents(tenantId: string): FhirConsent[];
}

type Stored = FhirConsent & { id: string; meta: { versionId: string; lastUpdated: string } };

/** Starts the access-policy stand-in on 127.0.0.1 (free port). Consents live in memory, per tenant. */
export async function startAccessPolicyStandIn(): Promise<AccessPolicyStandIn> {
  // Index the R4 definitions before listening: done lazily, the first consent write would spend seconds on
  // it and the migrator's 2 s client timeout would see a stand-in that does not answer.
  indexR4Definitions();
  const tenants = new Map<string, Stored[]>();
  const counts = { received: 0, upserts: 0, searches: 0, decisions: 0 };
  let down = false;
  let delayMs = 0;
  let failures = 0;
  const store = (tenant: string) => tenants.get(tenant) ?? tenants.set(tenant, []).get(tenant)!;

  const app = express();
  app.use(async (_req: Request, res: Response, next: NextFunction) => {
    counts.received++;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (failures > 0) failures--;
    else if (!down) return next();
    return void res.status(503).json(outcome('error', 'transient', 'access-policy is unavailable'));
  });
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '256kb' }));

  app.put('/tenants/:tenant/Consent', (req, res) => {
    counts.upserts++;
    const tenant = String(req.params.tenant);
    const [system, value] = splitIdentifier(req.query.identifier);
    const body = req.body as FhirConsent | undefined;
    const problem = validateConsent(body, system, value);
    if (problem) return void res.status(400).json(outcome('error', 'invalid', problem));
    const matches = store(tenant).filter((c) => c.identifier.some((i) => i.system === system && i.value === value));
    if (matches.length > 1) return void res.status(412).json(outcome('error', 'duplicate', 'identifier matches more than one Consent'));
    const { result, stored } = upsert(store(tenant), matches[0], body!);
    res.status(result === 'SUCCESSFUL_CREATE' ? 201 : 200);
    res.setHeader('Location', `${base}/tenants/${encodeURIComponent(tenant)}/Consent/${stored.id}/_history/${stored.meta.versionId}`);
    res.setHeader('ETag', `W/"${stored.meta.versionId}"`);
    const wantsOutcome = String(req.headers.prefer ?? '').includes('return=OperationOutcome');
    res.json(wantsOutcome ? storageOutcome(result) : stored);
  });

  app.get('/tenants/:tenant/Consent', (req, res) => {
    counts.searches++;
    const found = store(String(req.params.tenant)).filter((c) => matchesSearch(c, req.query));
    const bundle =
      req.query._summary === 'count'
        ? { resourceType: 'Bundle', type: 'searchset', total: found.length }
        : { resourceType: 'Bundle', type: 'searchset', total: found.length, entry: found.map((resource) => ({ resource })) };
    res.json(bundle);
  });

  app.get('/tenants/:tenant/Consent/:id', (req, res) => {
    const found = store(String(req.params.tenant)).find((c) => c.id === req.params.id);
    if (!found) return void res.status(404).json(outcome('error', 'not-found', 'no such Consent'));
    res.json(found);
  });

  app.post('/tenants/:tenant/decisions', (req, res) => {
    counts.decisions++;
    const { patient, category, at } = (req.body ?? {}) as { patient?: unknown; category?: unknown; at?: unknown };
    const when = typeof at === 'string' ? new Date(at) : new Date();
    if (typeof patient !== 'string' || patient === '' || category !== TELEHEALTH_CONSENT_CATEGORY || Number.isNaN(when.getTime())) {
      return void res.status(400).json(outcome('error', 'invalid', `expected { patient, category: '${TELEHEALTH_CONSENT_CATEGORY}', at?: ISO datetime }`));
    }
    const consents = store(String(req.params.tenant)).filter((c) => c.patient.reference === patient && isTelehealth(c));
    const decision = decideFromConsents(consents, when);
    res.json({ decision: decision.permitted ? 'permit' : 'deny', reason: decision.reason, consentId: decision.consentId ?? null });
  });

  const server = await listenOnLoopback(app);
  const base = server.url;
  return {
    url: base,
    close: server.close,
    setDown: (value) => void (down = value),
    failNext: (n) => void (failures = n),
    setDelayMs: (ms) => void (delayMs = ms),
    requests: () => ({ ...counts }),
    consents: (tenantId) => structuredClone(tenants.get(tenantId) ?? []),
  };
}

function upsert(list: Stored[], existing: Stored | undefined, body: FhirConsent): { result: StorageOutcome; stored: Stored } {
  const lastUpdated = new Date().toISOString();
  const content = withoutServerFields(body);
  if (!existing) {
    const stored: Stored = { ...content, id: randomUUID(), meta: { versionId: '1', lastUpdated } };
    list.push(stored);
    return { result: 'SUCCESSFUL_CREATE', stored };
  }
  // Same content → no new version, as FHIR servers do for a no-op update; this is what makes re-imports idempotent.
  if (canonical(withoutServerFields(existing)) === canonical(content)) return { result: 'SUCCESSFUL_UPDATE_NO_CHANGE', stored: existing };
  const stored: Stored = { ...content, id: existing.id, meta: { versionId: String(Number(existing.meta.versionId) + 1), lastUpdated } };
  list.splice(list.indexOf(existing), 1, stored);
  return { result: 'SUCCESSFUL_UPDATE', stored };
}

function validateConsent(body: FhirConsent | undefined, system: string, value: string): string | undefined {
  if (!system || !value) return 'expected ?identifier=<system>|<value>';
  if (!body || body.resourceType !== 'Consent') return 'expected a FHIR Consent body';
  if (!body.identifier?.some((i) => i.system === system && i.value === value)) return 'Consent.identifier must contain the identifier of the condition';
  if (body.status !== 'active' && body.status !== 'inactive') return 'Consent.status must be active or inactive';
  if (!body.patient?.reference) return 'Consent.patient.reference is required';
  if (!Array.isArray(body.category) || !body.provision) return 'Consent.category and Consent.provision are required';
  // As a FHIR server would: the Consent must be valid R4 (invariants such as ppc-1, reference types).
  const problems = describeProblems(r4Problems(body as never));
  return problems.length > 0 ? `invalid FHIR R4 Consent: ${problems.join('; ')}` : undefined;
}

function matchesSearch(consent: FhirConsent, query: Request['query']): boolean {
  if (typeof query.patient === 'string' && consent.patient.reference !== query.patient) return false;
  if (typeof query.category === 'string' && !consent.category.some((c) => c.coding.some((coding) => coding.code === query.category))) return false;
  if (typeof query.identifier === 'string') {
    // A token OR-list (`a|1,a|2`), each value with `\`, `,`, `$`, `|` escaped by a backslash, as FHIR search has it.
    const wanted = splitTokens(query.identifier).map(splitIdentifier);
    if (!consent.identifier.some((i) => wanted.some(([system, value]) => i.system === system && i.value === value))) return false;
  }
  return true;
}

/** The tokens of a search parameter split at unescaped commas, each with its value unescaped. */
function splitTokens(raw: string): string[] {
  const tokens: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    // An escaped character is kept as it is: a bar in the value stays after the system's bar, which splitIdentifier cuts at.
    if (c === '\\' && i + 1 < raw.length) current += raw[++i];
    else if (c === ',') {
      tokens.push(current);
      current = '';
    } else current += c;
  }
  tokens.push(current);
  return tokens;
}

/** FHIR token search `system|value`; the value may itself contain `|`, the system may not. */
function splitIdentifier(raw: unknown): [string, string] {
  const text = typeof raw === 'string' ? raw : '';
  const bar = text.indexOf('|');
  return bar < 0 ? ['', ''] : [text.slice(0, bar), text.slice(bar + 1)];
}

function withoutServerFields(resource: FhirConsent): FhirConsent {
  const { id: _id, meta: _meta, ...content } = resource;
  return content;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function outcome(severity: 'error' | 'information', code: string, diagnostics: string) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

function storageOutcome(result: StorageOutcome) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { coding: [{ system: STORAGE_OUTCOME_SYSTEM, code: result }] } }],
  };
}
