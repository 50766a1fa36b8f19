import { awsKmsConnection } from '@vc/config';
import { createAccessPolicyClient } from '@vc/integrations/access-policy';
import { createJitsiProbe } from '@vc/integrations/jitsi';
import { createKms } from '@vc/integrations/kms';
import { createLicensingClient } from '@vc/integrations/licensing';
import { connectEventStream } from '@vc/integrations/nats';
import { describeMissing, legacySourceSpec, type MigratorConfig, type SettingName } from '../config';
import { UsageError } from './errors';
import { openLegacySource, openPortalSource } from '../legacy/open';
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
 * A missing variable is a usage error (exit 2) naming it.
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
        () => openLegacySource(legacySourceSpec(config)),
        (s) => s.close(),
      ),
    portal: () =>
      once(
        'portal',
        () => openPortalSource(config),
        (s) => s.close(),
      ),
    kms: () => once('kms', () => createKms(config.VC_KMS, awsOptions)),
    legacyKms: () => once('legacyKms', async () => (config.VC_LEGACY_KMS ? createKms(config.VC_LEGACY_KMS, awsOptions) : undefined)),
    events: () =>
      once(
        'events',
        async () =>
          config.VC_NATS_URL
            ? connectEventStream({ url: config.VC_NATS_URL, stream: config.VC_NATS_STREAM, subjects: [`${config.VC_NATS_SUBJECT_PREFIX}virtual_care.>`] })
            : undefined,
        async (s) => void (await s?.close()),
      ),
    fhir: () =>
      once('fhir', async () => {
        if (!config.VC_FHIR_BASE_URL) throw missing('VC_FHIR_BASE_URL', 'FHIR');
        // Imported on first use: the FHIR client pulls in @medplum/core, which only s2 and onboarding need.
        const { createFhirClient } = await import('@vc/integrations/fhir');
        return createFhirClient({ baseUrl: config.VC_FHIR_BASE_URL });
      }),
    accessPolicy: () =>
      once('accessPolicy', async () => {
        if (!config.VC_ACCESS_POLICY_URL) throw missing('VC_ACCESS_POLICY_URL', 'access-policy');
        return createAccessPolicyClient({ baseUrl: config.VC_ACCESS_POLICY_URL });
      }),
    jitsi: () => once('jitsi', async () => createJitsiProbe({})),
    kong: () =>
      once('kong', async () => {
        const { createKongGateway } = await import('@vc/integrations/kong');
        if (config.VC_KONG_ADMIN_URL) return createKongGateway({ adminUrl: config.VC_KONG_ADMIN_URL });
        return createKongGateway({ file: config.VC_KONG_FILE ?? '.data/kong.yaml' });
      }),
    licensing: () =>
      once('licensing', async () => {
        if (!config.VC_LICENSING_URL) throw missing('VC_LICENSING_URL', 'licensing');
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
