export {
  consentEnd,
  heldAsMapped,
  legacyConsentDecision,
  mapConsent,
  patientDecision,
  type ConsentDecisionReason,
  type ConsentMapping,
  type ConsentRejectReason,
  type HeldConsent,
  type LegacyConsentRow,
  type MappedConsent,
} from './map-consent';
