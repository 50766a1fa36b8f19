import { LEGACY_SOURCE } from '../../config';
import type { Phase } from '../../engine/types';
import { deltaSyncStep } from './4.1-delta-sync';
import { kongCutoverStep } from './4.2-kong-cutover';
import { finalDeltaSyncStep } from './4.3-final-delta-sync';
import { checkLegacyService, checkServiceUpstream, DEFAULT_LEGACY_SERVICE, DEFAULT_SERVICE_UPSTREAM } from './options';

/**
 * S4, traffic cutover, per tenant: catch up what changed in legacy since S1, then switch Kong (snapshot
 * first) and record it, then catch up once more what legacy took until its 301s were in force. `migrator rollback s4` and `migrator phase s4 decommission` act on the record.
 */
export const s4Phase: Phase = {
  id: 's4',
  title: 'Traffic cutover',
  steps: [deltaSyncStep, kongCutoverStep, finalDeltaSyncStep],
  // 4.2's gateway is VC_KONG_ADMIN_URL, else the decK file VC_KONG_FILE (defaulted): nothing more to require.
  actions: {
    decommission: {
      description: 'retire the legacy endpoints once the 2-week stability window is over (--force --reason inside it)',
      run: async (flags) => (await import('./decommission-action')).runDecommission(flags),
    },
  },
  requires: [
    { anyOf: LEGACY_SOURCE, neededBy: 'phase s4 (step 4.1 delta-syncs legacy digital_communication)' },
    { anyOf: ['VC_FHIR_BASE_URL'], neededBy: 'phase s4 (step 4.1 creates the Encounters legacy never made for sessions ended since S1)' },
  ],
  flags: [
    {
      flags: '--service-upstream <url>',
      description: 'virtual-care-service URL Kong forwards /api/v1/virtual-care/* to',
      defaultValue: DEFAULT_SERVICE_UPSTREAM,
      check: checkServiceUpstream,
    },
    {
      flags: '--legacy-service <name>',
      description: 'Kong service of legacy digital-communication (its session routes answer 301)',
      defaultValue: DEFAULT_LEGACY_SERVICE,
      check: checkLegacyService,
    },
  ],
};
