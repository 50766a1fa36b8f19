import { LEGACY_CREDENTIAL_KEYS, LEGACY_SOURCE } from '../../config';
import type { Phase } from '../../engine/types';
import { exportSessionsStep } from './1.1-sessions';
import { videoBackendStep } from './1.2-video-backend';
import { tenantConfigsStep } from './1.3-tenant-configs';
import { participantsStep } from './1.4-participants';
import { historicalStatusStep } from './1.5-historical-status';
import { storedS1AsOf } from './as-of';

/** S1, session data migration, per tenant: the plan's steps 1.1–1.5. */
export const s1Phase: Phase = {
  id: 's1',
  title: 'Session data migration',
  requires: [
    { anyOf: LEGACY_SOURCE, neededBy: 'phase s1 (steps 1.1–1.5 read legacy digital_communication)' },
    { anyOf: LEGACY_CREDENTIAL_KEYS, neededBy: 'phase s1 (step 1.3 decrypts the legacy Jitsi credentials, also under --dry-run)' },
  ],
  steps: [exportSessionsStep, videoBackendStep, tenantConfigsStep, participantsStep, historicalStatusStep],
  storedAsOf: storedS1AsOf,
};
