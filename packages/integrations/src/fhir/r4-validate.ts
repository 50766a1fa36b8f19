import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { indexR4Definitions } from './r4-definitions';

/**
 * What makes `resource` invalid FHIR R4 as `@medplum/core` validates it against the R4 definitions:
 * every error (cardinality, types, invariants such as Consent's ppc-1) and every reference to a type
 * the element does not allow (medplum reports those as warnings; an EHR refuses them), plus the Period
 * invariant per-1 that medplum does not evaluate (see {@link periodProblems}). Empty = valid.
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
  return [
    ...issues.filter((i) => i.severity === 'error' || i.severity === 'fatal' || /^Invalid reference/.test(i.details?.text ?? '')),
    ...periodProblems(resource),
  ];
}

const PER_1 = 'Constraint per-1 not met: If present, start SHALL have a lower value than end';
/** A FHIR date or dateTime: the date, then optionally a time (with its zone, which R4 requires with a time). */
const DATE_TIME = /^(\d{4}(?:-\d{2}(?:-\d{2})?)?)(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/**
 * -1/0/1 when `start` is before/at/after `end`; undefined when FHIRPath could not order them either
 * (a date against a dateTime, or dates of different precision: `'2026' <= '2026-01'` is empty, which
 * satisfies the invariant).
 */
function order(start: string, end: string): number | undefined {
  const a = DATE_TIME.exec(start);
  const b = DATE_TIME.exec(end);
  if (!a || !b) return undefined;
  if (a[2] && b[2]) return Math.sign(Date.parse(start) - Date.parse(end));
  if (a[2] || b[2] || a[1]!.length !== b[1]!.length) return undefined;
  return start < end ? -1 : start > end ? 1 : 0;
}

/**
 * R4 invariant per-1 (Period: start ≤ end), which medplum's `validateResource` does not evaluate (an HL7
 * validator or HAPI does, and refuses the resource). Checked on every object holding a `start` and an `end`
 * date/dateTime anywhere in the resource: that is every Period with both bounds (whatever its element is
 * called: `period`, `applies`, `planningHorizon`…), and the few elements with start/end of their own
 * (Appointment, Slot), where an end before the start is as wrong.
 */
export function periodProblems(resource: object): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) value.forEach((item, i) => visit(item, `${path}[${i}]`));
    else if (typeof value === 'object' && value !== null) {
      const { start, end } = value as { start?: unknown; end?: unknown };
      if (typeof start === 'string' && typeof end === 'string' && order(start, end) === 1)
        issues.push({ severity: 'error', code: 'invariant', details: { text: PER_1 }, expression: [path] });
      for (const [key, child] of Object.entries(value)) if (typeof child === 'object') visit(child, `${path}.${key}`);
    }
  };
  visit(resource, (resource as { resourceType?: string }).resourceType ?? 'Resource');
  return issues;
}

/** One line per problem: where and what, for a test failure or a 400 OperationOutcome. */
export const describeProblems = (issues: readonly OperationOutcomeIssue[]) =>
  issues.map((i) => `${i.expression?.join(',') ?? '?'}: ${i.details?.text ?? i.code}`);
