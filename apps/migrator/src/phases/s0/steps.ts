import type { Phase } from '../../engine/types';
import { databaseStep } from './0.1-database';
import { eventStreamStep } from './0.2-event-stream';
import { shadowModeStep } from './0.3-shadow-mode';
import { prepareDatabase } from './prepare';

/** S0, schema bootstrap: global (no tenant), idempotent; every step re-checks on every run. */
export const s0Phase: Phase = {
  id: 's0',
  title: 'Schema bootstrap',
  global: true,
  prepare: prepareDatabase,
  steps: [databaseStep, eventStreamStep, shadowModeStep],
};
