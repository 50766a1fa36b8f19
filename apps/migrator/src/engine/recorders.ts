import type { AccessPolicyClient, EventStream, FhirClient, KongGateway, Kms, Licensing } from './ports';
import type { ServiceRegistry } from './services';

/**
 * The outside systems of a dry run (engine/rehearsal.ts): reads go to the real system, every call that
 * would change something is recorded instead of sent, and answered as the system would answer it, so
 * the step's real code runs on. What was recorded is counted per `system.operation` for the summary
 * (`wouldSend`), never with its payload (credentials, PHI).
 */
export interface Recorded {
  /** `kms.Encrypt` → 3, `fhir.createEncounter` → 12 … */
  readonly counts: Readonly<Record<string, number>>;
}

/** What a recorded KMS encryption returns: no key touched it, and no decrypt will accept it. */
export const RECORDED_CIPHERTEXT = 'dry-run:not-encrypted';

/** `services` with writes recorded; the target KMS is created only for a read (decrypt, verify). */
export function recordingServices(services: ServiceRegistry): ServiceRegistry & Recorded {
  const counts: Record<string, number> = {};
  const note = (what: string) => void (counts[what] = (counts[what] ?? 0) + 1);
  const memo = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => (made ??= make());
  };

  const kms = memo(async (): Promise<Kms> => {
    const real = memo(() => services.kms());
    return {
      description: 'dry run (nothing encrypted)',
      // The id a real run would record is only known to the real client; creating it may create a keyring file.
      keyId: 'dry-run',
      encrypt: async () => (note('kms.Encrypt'), RECORDED_CIPHERTEXT),
      async reEncrypt(ciphertext, source) {
        // ReEncrypt would refuse ciphertext the legacy key did not make: check it with a decrypt, a read.
        const legacy = await services.legacyKms();
        if (legacy) (await legacy.decrypt(ciphertext, source.context)).fill(0);
        note('kms.ReEncrypt');
        return RECORDED_CIPHERTEXT;
      },
      decrypt: async (ciphertext, context) => (await real()).decrypt(ciphertext, context),
      sign: async () => (note('kms.Sign'), { keyId: 'dry-run', algorithm: 'none', signature: '' }),
      verify: async (message, signature) => (await real()).verify(message, signature),
    };
  });

  const fhir = memo(async (): Promise<FhirClient> => {
    const real = await services.fhir();
    let serial = 0;
    return {
      async createEncounterIfAbsent(_encounter, identifier) {
        // The conditional create's own answer, found by a read: an Encounter already there is not created again.
        const existing = await real.findEncounter(identifier);
        if (existing?.id) return { ref: `Encounter/${existing.id}`, created: false };
        note('fhir.createEncounter');
        return { ref: `Encounter/dry-run-${++serial}`, created: true };
      },
      findEncounter: (identifier) => real.findEncounter(identifier),
      existingEncounterIds: (ids) => real.existingEncounterIds(ids),
    };
  });

  const events = memo(async (): Promise<EventStream | undefined> => {
    const real = await services.events();
    if (!real) return undefined;
    let seq = 0;
    return {
      ensureStream: async () => (note('nats.ensureStream'), 'unchanged'),
      publish: async () => (note('nats.publish'), { seq: ++seq, duplicate: false }),
      close: () => real.close(),
    };
  });

  const kong = memo(async (): Promise<KongGateway> => {
    const real = await services.kong();
    return { description: real.description, snapshot: () => real.snapshot(), apply: async () => void note('kong.apply') };
  });

  const accessPolicy = memo(async (): Promise<AccessPolicyClient> => {
    const real = await services.accessPolicy();
    return new Proxy(real, {
      get(target, key, receiver) {
        if (key === 'upsertConsent') return async () => (note('accessPolicy.upsertConsent'), { id: 'dry-run', created: true, changed: true });
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  });

  const licensing = memo(async (): Promise<Licensing> => {
    const real = await services.licensing();
    return { enableModule: async () => (note('licensing.enableModule'), { enabled: true, changed: true }), isEnabled: (t, m) => real.isEnabled(t, m) };
  });

  return { ...services, kms, fhir, events, kong, accessPolicy, licensing, close: () => services.close(), counts };
}
