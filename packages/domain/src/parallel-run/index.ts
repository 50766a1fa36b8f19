export { compareParallelRun } from './compare';
export { compareFields, expectedStatus } from './fields';
export { compositeKey, matchSessions, type Matching, type Pair } from './match';
export {
  COMPARED_FIELDS,
  type CandidateSide,
  type ComparableStatus,
  type ComparedField,
  type FieldOutcome,
  type FieldTally,
  type LegacySide,
  type MismatchSample,
  type PairKind,
  type ParallelRunOptions,
  type ParallelRunReport,
  type RedactedValue,
} from './types';
