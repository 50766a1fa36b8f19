import type { Bundle, Encounter, OperationOutcome } from '@medplum/fhirtypes';
import { IntegrationError } from '../errors';
import { requestJson } from '../http';
import { type FhirClient, MAX_IDS_PER_SEARCH } from './types';

/** Options of {@link createFhirClient}. */
export interface FhirClientOptions {
  /** FHIR R4 base URL, e.g. `https://ehr.example/fhir/R4`. */
  baseUrl: string;
  /** Per-request timeout; default 10 s. A timeout is a retryable IntegrationError. */
  timeoutMs?: number;
  /** Extra headers on every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
}

const FHIR_JSON = 'application/fhir+json';

type Identifier = { system: string; value: string };
const token = (id: Identifier) => `${encodeURIComponent(id.system)}|${encodeURIComponent(id.value)}`;

/** The FHIR R4 client the outbox relay creates Encounters with (conditional create, so retries never duplicate). */
export function createFhirClient(opts: FhirClientOptions): FhirClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function request<T>(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: T | undefined; location: string | null }> {
    const { status, headers, body } = await requestJson(`${base}/${path}`, {
      method,
      headers: { Accept: FHIR_JSON, ...(init.body === undefined ? {} : { 'Content-Type': FHIR_JSON }), ...opts.headers, ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      timeoutMs,
      system: 'fhir',
      what: `FHIR ${method} ${path.split('?')[0]}`,
      explain: outcomeSummary,
    });
    return { status, body: body as T | undefined, location: headers.get('location') };
  }

  return {
    async createEncounterIfAbsent(encounter, identifier) {
      const { status, body, location } = await request<Encounter>('POST', 'Encounter', {
        body: withIdentifier(encounter, identifier),
        headers: { 'If-None-Exist': `identifier=${token(identifier)}` },
      });
      const id = body?.id ?? /Encounter\/([^/]+)/.exec(location ?? '')?.[1];
      if (!id) throw new IntegrationError(`FHIR POST Encounter answered ${status} without the Encounter's id`, { system: 'fhir', status, retryable: false });
      // 201: we created it; 200: the If-None-Exist search found the one a previous attempt created.
      return { ref: `Encounter/${id}`, created: status === 201 };
    },
    async findEncounter(identifier) {
      const { body } = await request<Bundle<Encounter>>('GET', `Encounter?identifier=${token(identifier)}`);
      const found = (body?.entry ?? []).map((e) => e.resource).filter((r): r is Encounter => r?.resourceType === 'Encounter');
      if (found.length > 1) {
        throw new IntegrationError(`FHIR has ${found.length} Encounters with identifier ${identifier.system}|${identifier.value}; expected at most one`, {
          system: 'fhir',
          status: 200,
          retryable: false,
        });
      }
      return found[0];
    },
    async existingEncounterIds(ids) {
      if (ids.length === 0) return new Set();
      if (ids.length > MAX_IDS_PER_SEARCH) throw new RangeError(`existingEncounterIds takes at most ${MAX_IDS_PER_SEARCH} ids, got ${ids.length}`);
      const query = `_id=${ids.map(encodeURIComponent).join(',')}&_elements=id&_count=${ids.length}`;
      const { body } = await request<Bundle<Encounter>>('GET', `Encounter?${query}`);
      return new Set(
        (body?.entry ?? [])
          .map((e) => e.resource)
          .filter((r): r is Encounter => r?.resourceType === 'Encounter' && r.id !== undefined)
          .map((r) => r.id!),
      );
    },
  };
}

/** The Encounter must carry the identifier it is conditionally created by, or a retry could not find it. */
function withIdentifier(encounter: Encounter, identifier: Identifier): Encounter {
  const has = encounter.identifier?.some((i) => i.system === identifier.system && i.value === identifier.value);
  return has ? encounter : { ...encounter, identifier: [...(encounter.identifier ?? []), { system: identifier.system, value: identifier.value }] };
}

/** Issue codes only: diagnostics text may echo resource content (PHI), which must not reach our logs. */
function outcomeSummary(body: unknown): string | undefined {
  const outcome = body as OperationOutcome | undefined;
  if (outcome?.resourceType !== 'OperationOutcome') return undefined;
  const codes = [...new Set((outcome.issue ?? []).map((i) => i.code))];
  return codes.length ? `OperationOutcome: ${codes.join(', ')}` : undefined;
}
