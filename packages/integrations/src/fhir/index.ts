export { type FhirClient, FhirError, SESSION_IDENTIFIER_SYSTEM } from './types';
export { createFhirClient, type FhirClientOptions } from './client';
export { startFhirStandIn, type FhirStandIn } from './stand-in';
export { indexR4Definitions } from './r4-definitions';
