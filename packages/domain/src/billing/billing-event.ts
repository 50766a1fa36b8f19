/**
 * The billable service a finished telehealth session produces. Place of service and modifier come from
 * the tenant's config (CMS POS 02 = telehealth other than the patient's home, 10 = in the patient's home;
 * modifier 95 = synchronous telemedicine, or none when the payer wants the POS alone).
 */

export const PLACES_OF_SERVICE = ['02', '10'] as const;
export type PlaceOfService = (typeof PLACES_OF_SERVICE)[number];
export const BILLING_MODIFIERS = ['95'] as const;
export type BillingModifier = (typeof BILLING_MODIFIERS)[number];

/** Mirrors `TenantBilling` of the schema's `tenant_virtual_care_configs.billing`. */
export interface TenantBillingRules {
  placeOfService: PlaceOfService;
  modifier: BillingModifier | null;
}

/** The default a tenant without explicit billing settings gets (the schema's column default). */
export const DEFAULT_TENANT_BILLING: TenantBillingRules = { placeOfService: '02', modifier: '95' };

/** CPT 99213 (established patient, office/outpatient E/M), the visit code the legacy module billed. */
export const TELEHEALTH_VISIT_CODE = '99213';

export interface BillingEventDraft {
  code: string;
  modifier: BillingModifier | null;
  placeOfService: PlaceOfService;
  /** E/M visit codes are billed once per visit, whatever its length. */
  units: number;
  occurredAt: Date;
}

export interface BillableSession {
  startedAt: Date | null;
  endedAt: Date;
}

/**
 * The billing event of an ended session, or null when there is nothing to bill: a session nobody
 * started (the practitioner never joined) delivered no service.
 */
export function buildBillingEvent(session: BillableSession, rules: TenantBillingRules | null | undefined): BillingEventDraft | null {
  if (session.startedAt === null) return null;
  const effective = rules ?? DEFAULT_TENANT_BILLING;
  return {
    code: TELEHEALTH_VISIT_CODE,
    modifier: effective.modifier,
    placeOfService: effective.placeOfService,
    units: 1,
    occurredAt: session.endedAt,
  };
}
