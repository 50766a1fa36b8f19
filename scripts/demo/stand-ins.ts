import { type AccessPolicyStandIn, startAccessPolicyStandIn } from '../../packages/integrations/src/access-policy';
import { type FhirStandIn, startFhirStandIn } from '../../packages/integrations/src/fhir';
import { type JitsiStandIn, startJitsiStandIn } from '../../packages/integrations/src/jitsi';
import { type KongAdminStandIn, type KongConfig, startKongAdminStandIn } from '../../packages/integrations/src/kong';
import { type LicensingStandIn, startLicensingStandIn } from '../../packages/integrations/src/licensing';

/** The outside systems of docs/design.md §2, each an in-process stand-in on 127.0.0.1 (free ports). */
export interface StandIns {
  fhir: FhirStandIn;
  accessPolicy: AccessPolicyStandIn;
  kong: KongAdminStandIn;
  licensing: LicensingStandIn;
  /** One Jitsi deployment per tenant (plan 2.1: a branded instance each). */
  jitsi: Map<string, JitsiStandIn>;
  /** The `VC_*` variables that point the apps at them. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The gateway as it stands before the cutover: legacy digital-communication serves the virtual-session
 * routes. S4 plans its change against this (the legacy service must exist) and the demo shows the result.
 */
export const LEGACY_ROUTING: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      tags: ['legacy'],
      routes: [
        { name: 'dc-messages', paths: ['/api/v1/digital-communication/messages'] },
        { name: 'dc-virtual-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], methods: ['GET', 'POST'] },
      ],
    },
  ],
};

/** Starts every stand-in; if one fails to start, the ones already up are closed before rethrowing. */
export async function startStandIns(tenants: readonly string[]): Promise<StandIns> {
  const opened: Array<{ close(): Promise<void> }> = [];
  const track = async <T extends { close(): Promise<void> }>(started: Promise<T>): Promise<T> => {
    const value = await started;
    opened.push(value);
    return value;
  };
  const closeAll = async () => {
    await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  };
  try {
    const [fhir, accessPolicy, kong, licensing] = await Promise.all([
      track(startFhirStandIn()),
      track(startAccessPolicyStandIn()),
      track(startKongAdminStandIn({ initial: LEGACY_ROUTING })),
      track(startLicensingStandIn()),
    ]);
    const jitsi = new Map<string, JitsiStandIn>();
    for (const tenant of tenants) jitsi.set(tenant, await track(startJitsiStandIn()));
    return {
      fhir,
      accessPolicy,
      kong,
      licensing,
      jitsi,
      env: {
        VC_FHIR_BASE_URL: fhir.url,
        VC_ACCESS_POLICY_URL: accessPolicy.url,
        VC_KONG_ADMIN_URL: kong.url,
        VC_LICENSING_URL: licensing.url,
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
