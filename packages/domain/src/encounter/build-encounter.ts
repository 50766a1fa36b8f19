/**
 * The FHIR R4 Encounter a finished VirtualSession becomes. Domain imports nothing of ours, so the
 * identifier system (`SESSION_IDENTIFIER_SYSTEM` of @vc/integrations/fhir) is passed in by the caller.
 */
import { isIndividualReference } from '../legacy/references';

/** HL7 v3 ActCode `VR` (virtual): the Encounter.class of a telehealth visit. */
export const VIRTUAL_ENCOUNTER_CLASS = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  code: 'VR',
  display: 'virtual',
} as const;

const PARTICIPATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

/** The subset of FHIR R4 Encounter this builder emits (structurally compatible with @medplum/fhirtypes). */
export interface EncounterResource {
  resourceType: 'Encounter';
  status: 'finished' | 'cancelled';
  class: { system: string; code: string; display: string };
  identifier: Array<{ system: string; value: string }>;
  subject: { reference: string };
  /** What is known of when it happened; absent when neither start nor end is known. */
  period?: { start?: string; end?: string };
  participant: Array<{
    type?: Array<{ coding: Array<{ system: string; code: string; display: string }> }>;
    individual: { reference: string };
    period?: { start?: string; end?: string };
  }>;
}

export interface EncounterSession {
  id: string;
  patientRef: string;
  practitionerRef: string | null;
  startedAt: Date | null;
  /** Null for a legacy `completed` row that never recorded its end (it is `ended` all the same). */
  endedAt: Date | null;
  /**
   * Ended before it began: the service ended it from `waiting`, nobody having started it (it bills nothing). Its
   * Encounter is `cancelled` (FHIR R4 encounter-status: "ended before it has begun") with only an end in its period.
   * Not set for a legacy `completed` row without a start (S2/S4 backfill): legacy says a visit took place and
   * may have billed it, only its start was not recorded, so that one stays `finished`.
   */
  endedBeforeStart?: boolean;
}

export interface EncounterParticipant {
  participantRef: string;
  firstJoinedAt: Date | null;
  /** The latest leave: a rejoin does not clear it. */
  lastLeftAt: Date | null;
  /**
   * The latest join, when known (live joins and legacy folds; null on a row an older release backfilled): with
   * it, a participant whose latest join is after their latest leave (or who never left) was in the room when the
   * session ended.
   */
  lastJoinedAt?: Date | null;
}

/**
 * When a participant's part ended: the session's end when they were in the room at the end (their latest
 * join after their latest leave, or no leave at all), else their latest leave. Without the latest join (a row
 * an older release backfilled) the latest leave is all that is known, and a participant who never left has no end.
 */
function participantEnd(p: EncounterParticipant | undefined, sessionEnd: Date | null): Date | null {
  if (!p) return null;
  const lastJoinedAt = p.lastJoinedAt ?? null;
  const stayed = lastJoinedAt !== null && (p.lastLeftAt === null || p.lastLeftAt < lastJoinedAt);
  return stayed ? sessionEnd : p.lastLeftAt;
}

/**
 * A FHIR Period of what is known, never ending before it starts (R4 invariant per-1, which an EHR enforces).
 * Legacy clocks can give an end before the start (a leave stamped before the only join that survived, a
 * session ended before it started). Which bound is wrong cannot be told, so the end is left out rather
 * than moved (an open end claims nothing false, a moved one would be invented); the start stays.
 */
function period(from?: Date | null, to?: Date | null): { start?: string; end?: string } | undefined {
  const end = to && !(from && to < from) ? to : null;
  if (!from && !end) return undefined;
  return { ...(from ? { start: from.toISOString() } : {}), ...(end ? { end: end.toISOString() } : {}) };
}

function participantEntry(ref: string, code: 'PPRF' | 'PART', from?: Date | null, to?: Date | null): EncounterResource['participant'][number] {
  const display = code === 'PPRF' ? 'primary performer' : 'Participation';
  const entry: EncounterResource['participant'][number] = {
    type: [{ coding: [{ system: PARTICIPATION_TYPE_SYSTEM, code, display }] }],
    individual: { reference: ref },
  };
  const known = period(from, to);
  if (known) entry.period = known;
  return entry;
}

/**
 * Builds the Encounter of an ended session: class VR, identifier `<identifierSystem>|<session id>` (the
 * conditional-create key), subject = the patient, status `finished`, period = started → ended (a session
 * the service ended before it began is `cancelled` with only its end, see {@link EncounterSession.endedBeforeStart};
 * a legacy `completed` row without a start has a zero-length period at its end; a legacy session that never recorded its end has only
 * its start, and one that recorded neither has no period: nothing is invented; an end before its start is left
 * out), participants = the practitioner of record plus every
 * practitioner or related person who joined (only well-formed `<Type>/<FHIR id>` references, the types R4
 * allows as participant.individual: a legacy ref that is not one is left out, as a patient or device is).
 */
export function buildEncounter(session: EncounterSession, participants: readonly EncounterParticipant[], identifierSystem: string): EncounterResource {
  const cancelled = session.endedBeforeStart === true;
  // A cancelled Encounter never began: it has no start to give, not even a zero-length one.
  const sessionPeriod = cancelled ? period(null, session.endedAt) : period(session.startedAt ?? session.endedAt, session.endedAt);
  const entries: EncounterResource['participant'] = [];
  const seen = new Set<string>();
  if (session.practitionerRef && isIndividualReference(session.practitionerRef)) {
    const joined = participants.find((p) => p.participantRef === session.practitionerRef);
    entries.push(participantEntry(session.practitionerRef, 'PPRF', joined?.firstJoinedAt, participantEnd(joined, session.endedAt)));
    seen.add(session.practitionerRef);
  }
  for (const p of [...participants].sort((a, b) => a.participantRef.localeCompare(b.participantRef))) {
    if (seen.has(p.participantRef) || !isIndividualReference(p.participantRef)) continue;
    entries.push(participantEntry(p.participantRef, 'PART', p.firstJoinedAt, participantEnd(p, session.endedAt)));
    seen.add(p.participantRef);
  }
  return {
    resourceType: 'Encounter',
    status: cancelled ? 'cancelled' : 'finished',
    class: { ...VIRTUAL_ENCOUNTER_CLASS },
    identifier: [{ system: identifierSystem, value: session.id }],
    subject: { reference: session.patientRef },
    ...(sessionPeriod ? { period: sessionPeriod } : {}),
    participant: entries,
  };
}

/** Sessions that ended before the tenant's FHIR era started predate the integration and need no Encounter. */
export function needsEncounter(endedAt: Date, fhirEraStart: Date | null): boolean {
  return fhirEraStart === null || endedAt.getTime() >= fhirEraStart.getTime();
}
