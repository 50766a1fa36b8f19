/** The lifecycle states the comparison speaks in (the new service's). */
export type ComparableStatus = 'scheduled' | 'waiting' | 'in_progress' | 'ended' | 'cancelled';

/** A legacy `VirtualSession` in the window, with what the comparison needs and nothing more. */
export interface LegacySide {
  legacyId: string;
  /** Legacy `externalId`: the new service's session id when the session was mirrored with a shared id. */
  externalId: string | null;
  tenantId: string;
  patientRef: string;
  practitionerRef: string | null;
  scheduledStart: Date | null;
  /** Raw legacy status (free text). */
  status: string;
  startedAt: Date | null;
  endedAt: Date | null;
  /** Distinct participant refs seen in AuditLog joins. Compared as a set, reported only as a count. */
  participantRefs: readonly string[];
  hasEncounter: boolean;
  billingCodes: readonly string[];
}

/** A session of the new service in the window. */
export interface CandidateSide {
  id: string;
  /** Set when the row is the migrated copy of a legacy session (S1/S4). */
  legacyId: string | null;
  tenantId: string;
  patientRef: string;
  practitionerRef: string | null;
  scheduledStart: Date | null;
  status: ComparableStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  participantRefs: readonly string[];
  hasEncounter: boolean;
  /**
   * The Encounter is one the migrator created for a migrated session legacy had left without one (S2 2.4):
   * not a difference the parallel run should count against the new service.
   */
  encounterBackfilled?: boolean;
  billingCodes: readonly string[];
  /** When the new service created the row: breaks a tie between candidates that fit a legacy session equally. */
  createdAt?: Date;
}

export const COMPARED_FIELDS = ['status', 'duration', 'participants', 'encounter', 'billing'] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

/**
 * How a pair was found. `migrated`: the candidate is the legacy row copied through the mapping (shared
 * legacy id); `parallel`: the new service ran the session itself (shared externalId, or the composite key).
 */
export type PairKind = 'migrated' | 'parallel';

/** A value a sample may show: statuses, seconds, counts, flags, codes. Never a ref or a name. */
export type RedactedValue = string | number | boolean | null;

export interface FieldOutcome {
  outcome: 'matched' | 'mismatched' | 'ignored';
  /** Why a field was ignored (`not_ended`, `pre_fhir_era`, `suppressed_in_shadow`, …); absent otherwise. */
  ignoredBecause?: string;
  legacy: RedactedValue;
  candidate: RedactedValue;
}

export interface FieldTally {
  matched: number;
  mismatched: number;
  ignored: number;
  /** mismatched / (matched + mismatched); 0 when nothing was compared. */
  mismatchRate: number;
  ignoredBecause: Record<string, number>;
}

export interface MismatchSample {
  field: ComparedField | 'unmatched';
  kind: PairKind | 'legacy_only' | 'candidate_only';
  /** Legacy id, or `null` for a candidate the legacy side never had. */
  legacyId: string | null;
  /** The new session id (a uuid we minted, not PHI), or `null` for legacy-only. */
  sessionId: string | null;
  legacy: RedactedValue;
  candidate: RedactedValue;
}

export interface ParallelRunOptions {
  window: { from: Date; to: Date };
  /** Durations closer than this are equal: the two systems stamp start and end on different clocks. */
  durationToleranceSeconds: number;
  /** How far a parallel field's mismatch rate may exceed the noise baseline and still be a go. */
  mismatchTolerance: number;
  /** Unmatched sessions (either side) allowed before the run is a no-go. */
  maxUnmatched: number;
  /**
   * Sessions run by both systems the window must hold: without them the comparison covers only the
   * migrated copies, which proves the mapping, not the new service. 0 accepts that (and says so).
   */
  minParallelPairs: number;
  /** Sessions ended before this need no Encounter (the tenant's `fhir_era_start`). */
  fhirEraStart: Date | null;
  /**
   * The mode the new service ran in (`VC_MODE`). In `shadow` it creates no Encounter by design, so a parallel
   * session without one is no encounter mismatch: the field is `ignored` (`suppressed_in_shadow`).
   */
  serviceMode: 'live' | 'shadow';
  maxSamplesPerField: number;
}

export interface ParallelRunReport {
  tenant: string;
  window: { from: string; to: string };
  counts: {
    legacy: number;
    candidate: number;
    pairs: { migrated: number; parallel: number };
    legacyOnly: number;
    candidateOnly: number;
    byStatus: { legacy: Record<string, number>; candidate: Record<string, number> };
  };
  fields: Record<PairKind, Record<ComparedField, FieldTally>>;
  /** Per-field mismatch rate of the migrated pairs: what normalisation alone produces. */
  noiseBaseline: Record<ComparedField, number>;
  samples: MismatchSample[];
  decision: 'go' | 'no_go';
  reasons: string[];
}
