import type { AccessPolicyStandIn } from './stand-in';

export type { AccessPolicyStandIn };
export * from './types';
export { createAccessPolicyClient, type AccessPolicyClientOptions } from './client';
/** Loaded when called: the stand-in's Express and FHIR R4 definitions is no part of starting a client of this package. */
export const startAccessPolicyStandIn = async (): Promise<AccessPolicyStandIn> => (await import('./stand-in')).startAccessPolicyStandIn();
export {
  toFhirConsent,
  decideFromConsents,
  CONSENT_CATEGORY_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  STORAGE_OUTCOME_SYSTEM,
  type FhirConsent,
  type StorageOutcome,
} from './fhir-consent';
