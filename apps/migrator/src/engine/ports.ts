/**
 * The outside systems' interfaces, as the engine hands them to steps. They are `@vc/integrations/<system>`'s
 * types; while an adapter's `index.ts` has not landed, its `types.ts` is referenced directly (type-only,
 * erased at runtime). Switch each line to `@vc/integrations/<system>` once it exists.
 */
export type { Kms } from '../../../../packages/integrations/src/kms/types';
export type { EventStream } from '../../../../packages/integrations/src/nats/types';
export type { FhirClient } from '../../../../packages/integrations/src/fhir/types';
export type { AccessPolicyClient } from '../../../../packages/integrations/src/access-policy/types';
export type { JitsiProbe } from '../../../../packages/integrations/src/jitsi/types';
export type { KongGateway } from '../../../../packages/integrations/src/kong/types';
export type { Licensing } from '../../../../packages/integrations/src/licensing/types';
