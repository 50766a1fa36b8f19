import type { AccessPolicyClient } from '@vc/integrations/access-policy';
import type { FhirClient } from '@vc/integrations/fhir';
import type { JitsiProbe } from '@vc/integrations/jitsi';
import type { Kms } from '@vc/integrations/kms';
import type { EventStream } from '@vc/integrations/nats';
import type { Database } from '@vc/schema';
import type { ServiceConfig } from './config';
import type { Logger } from './logger';

/**
 * Everything the service talks to, injected. `startService` builds these from the config; tests and
 * `pnpm demo` pass their own (in-process stand-ins on loopback).
 */
export interface ServiceDeps {
  config: Readonly<ServiceConfig>;
  db: Database;
  kms: Kms;
  /** Absent: patients cannot be checked for consent, so patient joins fail closed with 503. */
  accessPolicy: AccessPolicyClient | undefined;
  jitsiProbe: JitsiProbe;
  /** Absent: CloudEvents stay in the outbox (embedded default, docs/design.md §2). */
  eventStream: EventStream | undefined;
  /** Absent: Encounter requests stay in the outbox. */
  fhir: FhirClient | undefined;
  logger: Logger;
  /** The clock; tests may pin it. */
  now: () => Date;
}
