/**
 * FHIR relative references as the target holds them: `<Type>/<id>`, the id per FHIR R4 (1–64 of
 * `A-Z a-z 0-9 - .`). Legacy refs are free text; one that is not such a reference cannot be an Encounter's
 * subject or a Consent's patient (an EHR refuses the resource), nor is it what the API accepts.
 */
const FHIR_ID = '[A-Za-z0-9\\-.]{1,64}';
const PATIENT_REFERENCE = new RegExp(`^Patient/${FHIR_ID}$`);
const INDIVIDUAL_REFERENCE = new RegExp(`^(?:Practitioner|PractitionerRole|RelatedPerson)/${FHIR_ID}$`);

/** `Patient/<id>`: what a session's patientRef and a consent's patient_ref must be. */
export function isPatientReference(ref: string): boolean {
  return PATIENT_REFERENCE.test(ref);
}

/** `Practitioner/<id>`, `PractitionerRole/<id>` or `RelatedPerson/<id>`: who R4 allows as Encounter.participant.individual. */
export function isIndividualReference(ref: string): boolean {
  return INDIVIDUAL_REFERENCE.test(ref);
}

/** The reject detail of a patient reference that is not one, naming the field (never its value). */
export const notPatientReference = (field: string) => `${field} is not a FHIR reference Patient/<id> (id: 1 to 64 of A-Z a-z 0-9 - .)`;
