/** The outside systems' interfaces, as the engine hands them to steps: `@vc/integrations/<system>`'s types. */
export type { Kms } from '@vc/integrations/kms';
export type { EventStream } from '@vc/integrations/nats';
export type { AccessPolicyClient } from '@vc/integrations/access-policy';
export type { JitsiProbe } from '@vc/integrations/jitsi';
export type { Licensing } from '@vc/integrations/licensing';
export type { FhirClient } from '@vc/integrations/fhir';
export type { KongGateway } from '@vc/integrations/kong';
