import { LEGACY_SOURCE, PORTAL_SOURCE } from '../../config';
import type { Phase } from '../../engine/types';
import { exportConsentsStep } from './3.1-export-consents';
import { importConsentsStep } from './3.2-import-consents';
import { verifyConsentsStep } from './3.3-verify-consents';

/**
 * S3, consent migration, per tenant: export from patient_portal, import into access-policy, verify. Legacy's portal
 * stays live until cutover, so a consent revoked there after S3 must still reach access-policy: every step re-runs
 * when done (`rerunWhenDone`), so `phase s3` again reads the whole export and re-imports it, idempotently (a consent
 * unchanged is a no-change update, a stale twin loses as it did). `validate` fails until it has (consents.accessible).
 */
export const s3Phase: Phase = {
  id: 's3',
  title: 'Consent migration to access-policy',
  steps: [exportConsentsStep, importConsentsStep, verifyConsentsStep],
  requires: [
    // S3 reads no legacy session, but its tenants are legacy's (a typo must not create one): no other list is trusted.
    { anyOf: LEGACY_SOURCE, neededBy: "phase s3 (its tenants are the legacy source's: --tenant is checked against it, --all-tenants is all of it)" },
    { anyOf: PORTAL_SOURCE, neededBy: 'phase s3 (steps 3.1–3.3 read patient_portal consents)' },
    { anyOf: ['VC_ACCESS_POLICY_URL'], neededBy: 'phase s3 (steps 3.2 and 3.3 import and verify consents)' },
  ],
};
