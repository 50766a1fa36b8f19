export {
  consentEnd,
  legacyConsentDecision,
  mapConsent,
  patientDecision,
  type ConsentDecisionReason,
  type ConsentMapping,
  type ConsentRejectReason,
  type LegacyConsentRow,
  type MappedConsent,
} from './map-consent';
