import { awsKmsConnection } from '@vc/config';
import { describeMissing, legacySourceSpec, type MigratorConfig, type SettingName } from '../config';
import { UsageError } from './errors';
import type { Services } from './types';

/** {@link Services} plus closing whatever was opened. */
export interface ServiceRegistry extends Services {
  close(): Promise<void>;
}

/** A client asked for without its setting. Commands check their `requires` first, so this is a last guard. */
function missing(variable: SettingName, client: string): UsageError {
  return new UsageError(describeMissing({ anyOf: [variable], neededBy: `the ${client} client` }));
}

/**
 * Creates each client on first use and keeps it for the run; a step that needs no KMS never opens one.
 * A missing variable is a usage error (exit 2) naming it. Each client's module is imported on first use
 * too: the drivers and SDKs behind them (the AWS SDK, NATS, mysql2, the stand-ins' Express and FHIR
 * definitions that share their packages' entry points) were most of every command's start-up.
 */
export function createServices(config: MigratorConfig): ServiceRegistry {
  const made = new Map<string, Promise<unknown>>();
  const closers: Array<() => Promise<void>> = [];
  function once<T>(name: string, make: () => Promise<T>, close?: (value: T) => Promise<void>): Promise<T> {
    if (!made.has(name)) {
      const promise = make();
      made.set(name, promise);
      if (close) closers.push(async () => close(await promise));
      // A failed creation is retried on the next ask rather than cached.
      promise.catch(() => made.delete(name));
    }
    return made.get(name) as Promise<T>;
  }
  const awsOptions = { aws: awsKmsConnection(config) };

  return {
    legacy: () =>
      once(
        'legacy',
        async () => (await import('../legacy/open')).openLegacySource(legacySourceSpec(config)),
        (s) => s.close(),
      ),
    portal: () =>
      once(
        'portal',
        async () => (await import('../legacy/open')).openPortalSource(config),
        (s) => s.close(),
      ),
    kms: () => once('kms', async () => (await import('@vc/integrations/kms')).createKms(config.VC_KMS, awsOptions)),
    legacyKms: () =>
      once('legacyKms', async () => (config.VC_LEGACY_KMS ? (await import('@vc/integrations/kms')).createKms(config.VC_LEGACY_KMS, awsOptions) : undefined)),
    events: () =>
      once(
        'events',
        // The default duplicate window is the service's (phase s0 ensures the same stream): the relay's de-duplication rests on it.
        async () =>
          config.VC_NATS_URL
            ? (await import('@vc/integrations/nats')).connectEventStream({
                url: config.VC_NATS_URL,
                stream: config.VC_NATS_STREAM,
                subjects: [`${config.VC_NATS_SUBJECT_PREFIX}virtual_care.>`],
              })
            : undefined,
        async (s) => void (await s?.close()),
      ),
    fhir: () =>
      once('fhir', async () => {
        if (!config.VC_FHIR_BASE_URL) throw missing('VC_FHIR_BASE_URL', 'FHIR');
        const { createFhirClient } = await import('@vc/integrations/fhir');
        return createFhirClient({ baseUrl: config.VC_FHIR_BASE_URL });
      }),
    accessPolicy: () =>
      once('accessPolicy', async () => {
        if (!config.VC_ACCESS_POLICY_URL) throw missing('VC_ACCESS_POLICY_URL', 'access-policy');
        const { createAccessPolicyClient } = await import('@vc/integrations/access-policy');
        return createAccessPolicyClient({ baseUrl: config.VC_ACCESS_POLICY_URL });
      }),
    jitsi: () => once('jitsi', async () => (await import('@vc/integrations/jitsi')).createJitsiProbe({})),
    kong: () =>
      once('kong', async () => {
        const { createKongGateway } = await import('@vc/integrations/kong');
        if (config.VC_KONG_ADMIN_URL) return createKongGateway({ adminUrl: config.VC_KONG_ADMIN_URL });
        return createKongGateway({ file: config.VC_KONG_FILE ?? '.data/kong.yaml' });
      }),
    licensing: () =>
      once('licensing', async () => {
        if (!config.VC_LICENSING_URL) throw missing('VC_LICENSING_URL', 'licensing');
        const { createLicensingClient } = await import('@vc/integrations/licensing');
        return createLicensingClient({ baseUrl: config.VC_LICENSING_URL });
      }),
    async close() {
      const results = await Promise.allSettled(closers.splice(0).map((close) => close()));
      made.clear();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw new Error('closing a client failed', { cause: failed.reason });
    },
  };
}
