import type { Resource } from '@medplum/fhirtypes';
import { describeProblems, r4Problems } from '../fhir/r4-validate';

/**
 * For tests: the problems that make `resource` invalid FHIR R4 (`@medplum/core` with the R4 definitions),
 * one line each; `[]` when valid. `expect(r4Errors(x)).toEqual([])` shows every problem on failure.
 */
export function r4Errors(resource: object): string[] {
  return describeProblems(r4Problems(resource as Resource));
}
