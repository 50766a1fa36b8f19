import type { ValidationSummary } from './phase-results';

/** Validation as the demo judges it: healthy tenants must pass every check, broken ones must fail one. */
export interface TenantVerdict {
  tenant: string;
  brokenOnPurpose: boolean;
  passed: boolean;
  failingChecks: string[];
  /** True when the verdict is the one the fixtures call for. */
  asExpected: boolean;
}

export function judgeValidation(report: ValidationSummary, tenants: readonly string[], brokenTenants: readonly string[]): TenantVerdict[] {
  return tenants.map((tenant) => {
    const checks = report.checks.filter((c) => c.tenant === tenant);
    const failingChecks = checks.filter((c) => c.status !== 'pass').map((c) => c.id);
    // A tenant with no checks at all was not validated: that is never the expected outcome.
    const passed = checks.length > 0 && failingChecks.length === 0;
    const brokenOnPurpose = brokenTenants.includes(tenant);
    return { tenant, brokenOnPurpose, passed, failingChecks, asExpected: checks.length > 0 && passed !== brokenOnPurpose };
  });
}
