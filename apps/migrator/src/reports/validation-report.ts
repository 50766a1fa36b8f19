import { overallStatus, type CheckResult } from '@vc/domain/checklist';

/** `migrator validate --json` (docs/design.md §8), exactly: `{ status, checks: [{ id, tenant, status, expected, actual, samples }] }`. */
export interface ValidationReport {
  status: 'pass' | 'fail';
  checks: CheckResult[];
}

/** Orders checks by tenant then plan order, and derives the overall status from them. */
export function buildValidationReport(checks: readonly CheckResult[]): ValidationReport {
  const sorted = [...checks].sort((a, b) => (a.tenant === b.tenant ? 0 : a.tenant < b.tenant ? -1 : 1));
  return {
    status: overallStatus(sorted),
    checks: sorted.map(({ id, tenant, status, expected, actual, samples }) => ({ id, tenant, status, expected, actual, samples })),
  };
}
