export * from './types';
export { createAccessPolicyClient, type AccessPolicyClientOptions } from './client';
export { startAccessPolicyStandIn, type AccessPolicyStandIn } from './stand-in';
export {
  toFhirConsent,
  decideFromConsents,
  CONSENT_CATEGORY_SYSTEM,
  CONSENT_SCOPE_SYSTEM,
  STORAGE_OUTCOME_SYSTEM,
  type FhirConsent,
  type StorageOutcome,
} from './fhir-consent';
