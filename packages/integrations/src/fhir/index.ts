export { type FhirClient, MAX_IDS_PER_SEARCH, SESSION_IDENTIFIER_SYSTEM } from './types';
export { createFhirClient, type FhirClientOptions } from './client';
export { startFhirStandIn, type FhirStandIn } from './stand-in';
export { indexR4Definitions } from './r4-definitions';
export { describeProblems, r4Problems } from './r4-validate';
