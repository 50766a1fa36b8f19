import type { Encounter } from '@medplum/fhirtypes';

/** Identifier system of the Encounter a session creates; value = the virtual session id. */
export const SESSION_IDENTIFIER_SYSTEM = 'urn:virtual-care:session-id';

export interface FhirClient {
  /**
   * Conditional create (`POST /Encounter` with `If-None-Exist: identifier=<system>|<value>`): a retried
   * call finds the Encounter created before instead of making a second one. Returns `Encounter/<id>`.
   */
  createEncounterIfAbsent(encounter: Encounter, identifier: { system: string; value: string }): Promise<{ ref: string; created: boolean }>;
  findEncounter(identifier: { system: string; value: string }): Promise<Encounter | undefined>;
  /**
   * Which of these Encounter ids the server holds: one `GET /Encounter?_id=a,b,…&_elements=id` search
   * (keep a call to at most {@link MAX_IDS_PER_SEARCH} ids). Not retried here; callers retry.
   */
  existingEncounterIds(ids: readonly string[]): Promise<Set<string>>;
}

/** Ids per `_id` search: keeps the query string far below what servers and proxies accept (~8 kB). */
export const MAX_IDS_PER_SEARCH = 100;
