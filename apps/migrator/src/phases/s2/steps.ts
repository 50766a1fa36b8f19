import type { Phase } from '../../engine/types';
import { jitsiJwtStep } from './2.2-jitsi-jwt';
import { parallelRunStep } from './2.3-parallel-run';
import { encounterBillingAuditStep } from './2.4-encounter-billing-audit';

/**
 * S2, Jitsi Meet migration, per tenant. 2.1 (deploy the branded Jitsi instance) is infrastructure, not a
 * step: its URL is the tenant config's `jitsi_server_url`, which 2.2 tests.
 */
export const s2Phase: Phase = {
  id: 's2',
  title: 'Jitsi Meet migration and parallel run',
  steps: [jitsiJwtStep, parallelRunStep, encounterBillingAuditStep],
};
