export {
  isDocumentUrl,
  legacyConsentDecision,
  mapConsent,
  patientDecision,
  type ConsentDecisionReason,
  type ConsentMapping,
  type ConsentRejectReason,
  type ConsentWarning,
  type LegacyConsentRow,
  type MappedConsent,
} from './map-consent';
