import type { AccessPolicyClient } from '../../packages/integrations/src/access-policy';
import type { FhirConsent } from '../../packages/integrations/src/access-policy/fhir-consent';
import type { ServiceApi } from './api';

/** What the walk-through saw, step by step, in words fit for the summary (no refs, no tokens). */
export interface LiveSessionOutcome {
  tenant: string;
  steps: string[];
  encounterRef: string | undefined;
}

export interface LiveSessionDeps {
  api: ServiceApi;
  /** Consents S3 imported into access-policy (the stand-in's store), to find a patient who may join. */
  consents(tenant: string): FhirConsent[];
  accessPolicy: AccessPolicyClient;
  /** Encounters the FHIR stand-in holds. */
  encounterCount(): Promise<number>;
  /** How long to wait for the outbox relay to deliver the Encounter. */
  encounterTimeoutMs: number;
}

/** A patient of `tenant` whose consent, migrated in S3, permits telehealth now; access-policy decides. */
async function consentingPatient(deps: LiveSessionDeps, tenant: string, now: Date): Promise<string> {
  const refs = [
    ...new Set(
      deps
        .consents(tenant)
        .filter((c) => c.status === 'active')
        .map((c) => c.patient.reference),
    ),
  ].sort();
  for (const ref of refs) {
    if ((await deps.accessPolicy.decideTelehealth(tenant, ref, now)).permitted) return ref;
  }
  throw new Error(`tenant ${tenant}: no migrated telehealth consent permits a patient now (${refs.length} active consents checked); did S3 import them?`);
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One live session over real HTTP, as the clinician app and the patient app would drive it: the
 * practitioner creates it and joins, a patient without consent is refused, the consenting patient joins,
 * the practitioner ends it, and the outbox relay creates the FHIR Encounter.
 */
export async function walkLiveSession(deps: LiveSessionDeps, tenant: string): Promise<LiveSessionOutcome> {
  const { api } = deps;
  const now = new Date();
  const patientRef = await consentingPatient(deps, tenant, now);
  const practitioner = { sub: 'Practitioner/demo-clinician', tenant, roles: ['vc:practitioner'] };
  const patient = { sub: patientRef, tenant, roles: ['vc:patient'] };
  const steps: string[] = [];

  const start = new Date(now.getTime() + 5 * 60_000);
  const created = await api.call('POST', '/sessions', {
    as: practitioner,
    body: { patientRef, scheduledStart: start.toISOString(), scheduledEnd: new Date(start.getTime() + 30 * 60_000).toISOString() },
    expect: 201,
  });
  const id = String(created.body.id);
  steps.push(`POST /sessions as practitioner → 201, status ${String(created.body.status)}`);

  const practitionerJoin = await api.call('POST', `/sessions/${id}/join`, { as: practitioner, body: { displayName: 'Dr Demo' }, expect: 200 });
  steps.push(`POST /sessions/:id/join as practitioner → 200, Jitsi room ${String(practitionerJoin.body.roomName)} with a signed token`);

  // The consent gate: the same join by a patient with no telehealth consent on file is refused.
  const unconsenting = { sub: 'Patient/demo-no-consent', tenant, roles: ['vc:patient'] };
  const other = await api.call('POST', '/sessions', {
    as: practitioner,
    body: { patientRef: unconsenting.sub, scheduledStart: start.toISOString() },
    expect: 201,
  });
  const refused = await api.call('POST', `/sessions/${String(other.body.id)}/join`, { as: unconsenting, body: {}, expect: 403 });
  await api.call('POST', `/sessions/${String(other.body.id)}/cancel`, { as: practitioner, body: { reason: 'demo: no consent' }, expect: 200 });
  steps.push(`POST /sessions/:id/join as a patient without consent → 403 ${String(refused.body.type).split('/').pop()} (that session is then cancelled)`);

  await api.call('POST', `/sessions/${id}/join`, { as: patient, body: {}, expect: 200 });
  steps.push('POST /sessions/:id/join as the patient (telehealth consent migrated in S3) → 200');

  const encountersBefore = await deps.encounterCount();
  const ended = await api.call('POST', `/sessions/${id}/end`, { as: practitioner, body: {}, expect: 200 });
  steps.push(`POST /sessions/:id/end as practitioner → 200, status ${String(ended.body.status)}`);

  const encounterRef = await waitFor(
    async () => {
      if ((await deps.encounterCount()) <= encountersBefore) return undefined;
      const session = await api.call('GET', `/sessions/${id}`, { as: practitioner, expect: 200 });
      return typeof session.body.encounterRef === 'string' ? session.body.encounterRef : undefined;
    },
    deps.encounterTimeoutMs,
    'the FHIR Encounter of the ended session',
  );
  steps.push(`outbox relay → FHIR stand-in: ${encounterRef} created, recorded on the session`);
  return { tenant, steps, encounterRef };
}
