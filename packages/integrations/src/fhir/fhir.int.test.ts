import { randomUUID } from 'node:crypto';
import type { Encounter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withRetry } from '../retry';
import { createFhirClient } from './client';
import { type FhirStandIn, startFhirStandIn } from './stand-in';
import { IntegrationError, isRetryableFrom } from '../errors';
import { SESSION_IDENTIFIER_SYSTEM } from './types';

let fhir: FhirStandIn;
beforeAll(async () => {
  fhir = await startFhirStandIn();
});
afterAll(() => fhir.close());

/** A minimal R4 Encounter of a virtual session (the real builder lives in @vc/domain). */
function encounter(sessionId: string): Encounter {
  return {
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' },
    identifier: [{ system: SESSION_IDENTIFIER_SYSTEM, value: sessionId }],
    period: { start: '2026-11-20T10:00:00.000Z', end: '2026-11-20T10:30:00.000Z' },
  };
}

async function fhirError(promise: Promise<unknown>): Promise<IntegrationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(IntegrationError);
  expect(error).toMatchObject({ system: 'fhir' });
  return error as IntegrationError;
}

describe('FHIR client against the FHIR R4 stand-in', () => {
  it('conditional create twice makes one Encounter and returns the same reference', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const sessionId = randomUUID();
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: sessionId };
    const before = await fhir.encounterCount();
    const first = await client.createEncounterIfAbsent(encounter(sessionId), identifier);
    const second = await client.createEncounterIfAbsent(encounter(sessionId), identifier);
    expect(first.created).toBe(true);
    expect(first.ref).toMatch(/^Encounter\/[0-9a-f-]{36}$/);
    expect(second).toEqual({ ref: first.ref, created: false });
    expect(await fhir.encounterCount()).toBe(before + 1);
  });

  it('concurrent conditional creates of one session still make one Encounter', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const sessionId = randomUUID();
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: sessionId };
    const before = await fhir.encounterCount();
    const results = await Promise.all([1, 2, 3].map(() => client.createEncounterIfAbsent(encounter(sessionId), identifier)));
    expect(new Set(results.map((r) => r.ref)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await fhir.encounterCount()).toBe(before + 1);
  });

  it('finds an Encounter by its session identifier, and nothing for an unknown one', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const sessionId = randomUUID();
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: sessionId };
    await client.createEncounterIfAbsent(encounter(randomUUID()), { system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() });
    const { ref } = await client.createEncounterIfAbsent(encounter(sessionId), identifier);
    const found = await client.findEncounter(identifier);
    expect(`Encounter/${found?.id}`).toBe(ref);
    expect(found?.class).toEqual({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' });
    expect(found?.identifier).toEqual([identifier]);
    expect(await client.findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() })).toBeUndefined();
  });

  it('tells which of many Encounter ids the server holds: created ones, not unknown or deleted ones', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const held = await Promise.all(
      [0, 1, 2].map(async () =>
        (await client.createEncounterIfAbsent(encounter(randomUUID()), { system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() })).ref.slice(
          'Encounter/'.length,
        ),
      ),
    );
    const deleted = await fetch(`${fhir.url}/Encounter/${held[2]}`, { method: 'DELETE' });
    expect(deleted.ok).toBe(true);
    expect(await client.existingEncounterIds([...held, 'no-such-encounter'])).toEqual(new Set(held.slice(0, 2)));
  });

  it('adds the identifier to an Encounter that lacks it, so a retry finds it', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() };
    const { identifier: _dropped, ...bare } = encounter(identifier.value);
    const first = await client.createEncounterIfAbsent(bare, identifier);
    expect(await client.createEncounterIfAbsent(bare, identifier)).toEqual({ ref: first.ref, created: false });
  });

  it('answers 503 while down as a retryable IntegrationError, and creates once it is back', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() };
    const before = await fhir.encounterCount();
    fhir.setDown(true);
    try {
      const error = await fhirError(client.createEncounterIfAbsent(encounter(identifier.value), identifier));
      expect(error.status).toBe(503);
      expect(error.retryable).toBe(true);
      expect(error.message).toBe('FHIR POST Encounter answered 503 (OperationOutcome: transient)');
      expect((await fhirError(client.findEncounter(identifier))).retryable).toBe(true);
    } finally {
      fhir.setDown(false);
    }
    expect(await fhir.encounterCount()).toBe(before);
    const isRetryable = isRetryableFrom('fhir');
    const result = await withRetry(() => client.createEncounterIfAbsent(encounter(identifier.value), identifier), { retries: 3, baseMs: 1, isRetryable });
    expect(result.created).toBe(true);
    expect(await fhir.encounterCount()).toBe(before + 1);
  });

  it('refuses an Encounter without its required class with a 400 that is not retryable', async () => {
    const client = createFhirClient({ baseUrl: fhir.url });
    const identifier = { system: SESSION_IDENTIFIER_SYSTEM, value: randomUUID() };
    const { class: _class, ...invalid } = encounter(identifier.value) as Encounter & { class?: unknown };
    const error = await fhirError(client.createEncounterIfAbsent(invalid as Encounter, identifier));
    expect(error.status).toBe(400);
    expect(error.retryable).toBe(false);
    expect(await client.findEncounter(identifier)).toBeUndefined();
  });

  it('reports a server that does not answer as a retryable IntegrationError without a status', async () => {
    const gone = await startFhirStandIn();
    const url = gone.url;
    await gone.close();
    const error = await fhirError(createFhirClient({ baseUrl: url }).findEncounter({ system: SESSION_IDENTIFIER_SYSTEM, value: 'x' }));
    expect(error.status).toBeUndefined();
    expect(error.retryable).toBe(true);
  });
});
