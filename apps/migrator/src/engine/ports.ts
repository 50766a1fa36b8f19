/**
 * The outside systems' interfaces, as the engine hands them to steps: `@vc/integrations/<system>`'s types.
 * FHIR and Kong are referenced through their `types.ts` (type-only, erased at runtime) until their
 * adapters' `index.ts` are complete; switch those two lines to `@vc/integrations/<system>` then.
 */
export type { Kms } from '@vc/integrations/kms';
export type { EventStream } from '@vc/integrations/nats';
export type { AccessPolicyClient } from '@vc/integrations/access-policy';
export type { JitsiProbe } from '@vc/integrations/jitsi';
export type { Licensing } from '@vc/integrations/licensing';
export type { FhirClient } from '../../../../packages/integrations/src/fhir/types';
export type { KongGateway } from '../../../../packages/integrations/src/kong/types';
