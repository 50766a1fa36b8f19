import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { indexR4Definitions } from './r4-definitions';

/**
 * What makes `resource` invalid FHIR R4 as `@medplum/core` validates it against the R4 definitions:
 * every error (cardinality, types, invariants such as Consent's ppc-1) and every reference to a type
 * the element does not allow (medplum reports those as warnings; an EHR refuses them). Empty = valid.
 */
export function r4Problems(resource: Resource): OperationOutcomeIssue[] {
  indexR4Definitions();
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateResource(resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues = error.outcome.issue ?? [];
  }
  return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal' || /^Invalid reference/.test(i.details?.text ?? ''));
}

/** One line per problem: where and what, for a test failure or a 400 OperationOutcome. */
export const describeProblems = (issues: readonly OperationOutcomeIssue[]) =>
  issues.map((i) => `${i.expression?.join(',') ?? '?'}: ${i.details?.text ?? i.code}`);
