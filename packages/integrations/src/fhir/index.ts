import type { FhirStandIn } from './stand-in';

export type { FhirStandIn };
export { type FhirClient, MAX_IDS_PER_SEARCH, SESSION_IDENTIFIER_SYSTEM } from './types';
export { createFhirClient, type FhirClientOptions } from './client';
/** Loaded when called: the stand-in's FHIR router is no part of starting a client of this package. */
export const startFhirStandIn = async (): Promise<FhirStandIn> => (await import('./stand-in')).startFhirStandIn();
export { indexR4Definitions } from './r4-definitions';
export { describeProblems, r4Problems } from './r4-validate';
