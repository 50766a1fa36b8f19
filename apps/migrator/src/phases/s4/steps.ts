import type { Phase } from '../../engine/types';
import { deltaSyncStep } from './4.1-delta-sync';
import { kongCutoverStep } from './4.2-kong-cutover';
import { DEFAULT_LEGACY_SERVICE, DEFAULT_SERVICE_UPSTREAM } from './options';

/**
 * S4, traffic cutover, per tenant: catch up what changed in legacy since S1, then switch Kong (snapshot
 * first) and record it. `migrator rollback s4` and `migrator phase s4 decommission` act on the record.
 */
export const s4Phase: Phase = {
  id: 's4',
  title: 'Traffic cutover',
  steps: [deltaSyncStep, kongCutoverStep],
  flags: [
    { flags: '--service-upstream <url>', description: 'virtual-care-service URL Kong forwards /api/v1/virtual-care/* to', defaultValue: DEFAULT_SERVICE_UPSTREAM },
    { flags: '--legacy-service <name>', description: 'Kong service of legacy digital-communication (its session routes answer 301)', defaultValue: DEFAULT_LEGACY_SERVICE },
    { flags: '--force', description: 'decommission: inside the 2-week stability window (needs --reason)' },
    { flags: '--reason <text>', description: 'decommission: why it is forced (recorded)' },
  ],
};
