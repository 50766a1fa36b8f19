import { LEGACY_CREDENTIAL_KEYS, LEGACY_SOURCE } from '../../config';
import { legacyTenantList } from '../../engine/known-tenants';
import type { Phase, Services } from '../../engine/types';
import { exportSessionsStep } from './1.1-sessions';
import { videoBackendStep } from './1.2-video-backend';
import { tenantConfigsStep } from './1.3-tenant-configs';
import { participantsStep } from './1.4-participants';
import { historicalStatusStep } from './1.5-historical-status';

/** `--all-tenants` in s1: every tenant with sessions or a config in the legacy source. */
async function legacyTenants(services: Services): Promise<string[]> {
  return legacyTenantList(await services.legacy());
}

/** S1, session data migration, per tenant: the plan's steps 1.1–1.5. */
export const s1Phase: Phase = {
  id: 's1',
  title: 'Session data migration',
  listTenants: legacyTenants,
  requires: [
    { anyOf: LEGACY_SOURCE, neededBy: 'phase s1 (steps 1.1–1.5 read legacy digital_communication)' },
    { anyOf: LEGACY_CREDENTIAL_KEYS, neededBy: 'phase s1 (step 1.3 decrypts the legacy Jitsi credentials, also under --dry-run)' },
  ],
  steps: [exportSessionsStep, videoBackendStep, tenantConfigsStep, participantsStep, historicalStatusStep],
};
