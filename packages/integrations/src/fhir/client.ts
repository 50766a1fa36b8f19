import type { Bundle, Encounter, OperationOutcome } from '@medplum/fhirtypes';
import { type FhirClient, FhirError, MAX_IDS_PER_SEARCH } from './types';

/** Options of {@link createFhirClient}. */
export interface FhirClientOptions {
  /** FHIR R4 base URL, e.g. `https://ehr.example/fhir/R4`. */
  baseUrl: string;
  /** Per-request timeout; default 10 s. A timeout is a retryable FhirError. */
  timeoutMs?: number;
  /** Extra headers on every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
}

const FHIR_JSON = 'application/fhir+json';

type Identifier = { system: string; value: string };
const token = (id: Identifier) => `${encodeURIComponent(id.system)}|${encodeURIComponent(id.value)}`;

/** 408, 429 and 5xx are worth another try; any other 4xx will fail the same way again. */
const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

/** The FHIR R4 client the outbox relay creates Encounters with (conditional create, so retries never duplicate). */
export function createFhirClient(opts: FhirClientOptions): FhirClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 10_000;

  async function request<T>(method: 'GET' | 'POST', path: string, init: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: T; location: string | null }> {
    const what = `${method} ${path.split('?')[0]}`;
    let res: Response;
    try {
      res = await fetch(`${base}/${path}`, {
        method,
        headers: { Accept: FHIR_JSON, ...(init.body === undefined ? {} : { 'Content-Type': FHIR_JSON }), ...opts.headers, ...init.headers },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason = (error as Error)?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'network error';
      throw new FhirError(`FHIR ${what} failed: ${reason}`, undefined, true, { cause: error });
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      throw new FhirError(`FHIR ${what} answered ${res.status}${outcomeSummary(text)}`, res.status, isRetryableStatus(res.status));
    }
    try {
      return { status: res.status, body: JSON.parse(text) as T, location: res.headers.get('location') };
    } catch (error) {
      throw new FhirError(`FHIR ${what} answered ${res.status} with a body that is not JSON`, res.status, false, { cause: error });
    }
  }

  return {
    async createEncounterIfAbsent(encounter, identifier) {
      const { status, body, location } = await request<Encounter>('POST', 'Encounter', {
        body: withIdentifier(encounter, identifier),
        headers: { 'If-None-Exist': `identifier=${token(identifier)}` },
      });
      const id = body.id ?? /Encounter\/([^/]+)/.exec(location ?? '')?.[1];
      if (!id) throw new FhirError(`FHIR POST Encounter answered ${status} without the Encounter's id`, status, false);
      // 201: we created it; 200: the If-None-Exist search found the one a previous attempt created.
      return { ref: `Encounter/${id}`, created: status === 201 };
    },
    async findEncounter(identifier) {
      const { body } = await request<Bundle<Encounter>>('GET', `Encounter?identifier=${token(identifier)}`);
      const found = (body.entry ?? []).map((e) => e.resource).filter((r): r is Encounter => r?.resourceType === 'Encounter');
      if (found.length > 1) {
        throw new FhirError(`FHIR has ${found.length} Encounters with identifier ${identifier.system}|${identifier.value}; expected at most one`, 200, false);
      }
      return found[0];
    },
    async existingEncounterIds(ids) {
      if (ids.length === 0) return new Set();
      if (ids.length > MAX_IDS_PER_SEARCH) throw new RangeError(`existingEncounterIds takes at most ${MAX_IDS_PER_SEARCH} ids, got ${ids.length}`);
      const query = `_id=${ids.map(encodeURIComponent).join(',')}&_elements=id&_count=${ids.length}`;
      const { body } = await request<Bundle<Encounter>>('GET', `Encounter?${query}`);
      return new Set((body.entry ?? []).map((e) => e.resource).filter((r): r is Encounter => r?.resourceType === 'Encounter' && r.id !== undefined).map((r) => r.id!));
    },
  };
}

/** The Encounter must carry the identifier it is conditionally created by, or a retry could not find it. */
function withIdentifier(encounter: Encounter, identifier: Identifier): Encounter {
  const has = encounter.identifier?.some((i) => i.system === identifier.system && i.value === identifier.value);
  return has ? encounter : { ...encounter, identifier: [...(encounter.identifier ?? []), { system: identifier.system, value: identifier.value }] };
}

/** Issue codes only: diagnostics text may echo resource content (PHI), which must not reach our logs. */
function outcomeSummary(text: string): string {
  try {
    const outcome = JSON.parse(text) as OperationOutcome;
    if (outcome.resourceType !== 'OperationOutcome') return '';
    const codes = [...new Set((outcome.issue ?? []).map((i) => i.code))];
    return codes.length ? ` (OperationOutcome: ${codes.join(', ')})` : '';
  } catch {
    return '';
  }
}
