import type { Phase } from '../../engine/types';
import { jitsiJwtStep } from './2.2-jitsi-jwt';
import { parallelRunStep } from './2.3-parallel-run';
import { encounterBillingAuditStep } from './2.4-encounter-billing-audit';
import { DEFAULT_REPORT_DIR } from './options';
import { DEFAULT_WINDOW } from './window';

/**
 * S2, Jitsi Meet migration, per tenant. 2.1 (deploy the branded Jitsi instance) is infrastructure, not a
 * step: its URL is the tenant config's `jitsi_server_url`, which 2.2 tests.
 */
export const s2Phase: Phase = {
  id: 's2',
  title: 'Jitsi Meet migration and parallel run',
  steps: [jitsiJwtStep, parallelRunStep, encounterBillingAuditStep],
  flags: [
    { flags: '--window <duration>', description: 'parallel-run window ending at --as-of: 90m, 36h, 14d, 2w', defaultValue: DEFAULT_WINDOW },
    { flags: '--report-dir <dir>', description: 'where the parallel-run report (JSON + Markdown) is written', defaultValue: DEFAULT_REPORT_DIR },
  ],
};
