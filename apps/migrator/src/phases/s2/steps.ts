import { LEGACY_SOURCE } from '../../config';
import type { Phase } from '../../engine/types';
import { jitsiJwtStep } from './2.2-jitsi-jwt';
import { parallelRunStep } from './2.3-parallel-run';
import { encounterBillingAuditStep } from './2.4-encounter-billing-audit';
import { DEFAULT_MIN_PARALLEL_PAIRS, DEFAULT_REPORT_DIR, parseMinParallelPairs } from './options';
import { DEFAULT_WINDOW, MAX_WINDOW_DAYS, parseWindow } from './window';

/**
 * S2, Jitsi Meet migration, per tenant. 2.1 (deploy the branded Jitsi instance) is infrastructure, not a
 * step: its URL is the tenant config's `jitsi_server_url`, which 2.2 tests.
 */
export const s2Phase: Phase = {
  id: 's2',
  title: 'Jitsi Meet migration and parallel run',
  steps: [jitsiJwtStep, parallelRunStep, encounterBillingAuditStep],
  // 2.2 uses VC_KMS (defaulted) and the tenant's own Jitsi URL. FHIR is required even when 2.4 turns out to
  // have no Encounter to create (or under --dry-run): a run must not depend on the data to be configured.
  requires: [
    { anyOf: LEGACY_SOURCE, neededBy: 'phase s2 (step 2.3 reads the legacy sessions of the window, 2.4 their billing)' },
    { anyOf: ['VC_FHIR_BASE_URL'], neededBy: 'phase s2 (step 2.4 creates the Encounters legacy never made)' },
  ],
  flags: [
    {
      flags: '--window <duration>',
      description: `parallel-run window ending at --as-of: 90m, 36h, 14d, 2w (at most ${MAX_WINDOW_DAYS}d)`,
      defaultValue: DEFAULT_WINDOW,
      check: (value) => void parseWindow(value),
    },
    { flags: '--report-dir <dir>', description: 'where the parallel-run report (JSON + Markdown) is written', defaultValue: DEFAULT_REPORT_DIR },
    {
      flags: '--min-parallel-pairs <n>',
      description: 'sessions run by both systems (mirrored traffic) the window must hold for a go; 0 accepts a comparison of migrated copies only',
      defaultValue: DEFAULT_MIN_PARALLEL_PAIRS,
      check: (value) => void parseMinParallelPairs(value),
    },
  ],
};
