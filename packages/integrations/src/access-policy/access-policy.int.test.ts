import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessPolicyClient } from './client';
import { startAccessPolicyStandIn, type AccessPolicyStandIn } from './stand-in';
import { IntegrationError } from '../errors';
import { LEGACY_CONSENT_IDENTIFIER_SYSTEM, type TelehealthConsent } from './types';

let standIn: AccessPolicyStandIn;
beforeAll(async () => {
  standIn = await startAccessPolicyStandIn();
});
afterAll(() => standIn.close());

const at = new Date('2026-03-01T12:00:00Z');
let seq = 0;
/** Each test gets its own tenant and patient so tests never see each other's consents. */
function fresh() {
  seq++;
  return { tenant: `tenant-${seq}`, patient: `Patient/p-${seq}` };
}
function grant(patientRef: string, legacyId: string, overrides: Partial<TelehealthConsent> = {}): TelehealthConsent {
  return {
    identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: legacyId },
    patientRef,
    status: 'active',
    periodStart: '2026-01-01T00:00:00.000Z',
    method: 'portal',
    ...overrides,
  };
}

describe('access-policy client against the stand-in over HTTP', () => {
  it('importing the same consent twice stores one Consent and reports the second as unchanged', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url });
    const first = await client.upsertConsent(tenant, grant(patient, '100'));
    const second = await client.upsertConsent(tenant, grant(patient, '100'));
    expect(first).toEqual({ id: first.id, created: true, changed: true });
    expect(second).toEqual({ id: first.id, created: false, changed: false });
    expect(await client.countConsents(tenant)).toBe(1);
    expect(standIn.consents(tenant).map((c) => c.meta?.versionId)).toEqual(['1']);
  });

  it('re-importing a consent that was revoked since updates it in place', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, cacheTtlMs: 0 });
    const first = await client.upsertConsent(tenant, grant(patient, '101'));
    const revoked = await client.upsertConsent(
      tenant,
      grant(patient, '101', { status: 'inactive', inactiveReason: 'revoked', periodEnd: '2026-02-01T00:00:00.000Z' }),
    );
    expect(revoked).toEqual({ id: first.id, created: false, changed: true });
    expect(await client.countConsents(tenant)).toBe(1);
    expect(await client.decideTelehealth(tenant, patient, at)).toEqual({ permitted: false, reason: 'revoked', consentId: first.id });
  });

  it.each([
    ['an active consent permits', grant('', '1'), { permitted: true, reason: 'granted' }],
    [
      'a revoked consent denies as revoked',
      grant('', '2', { status: 'inactive', inactiveReason: 'revoked', periodEnd: '2026-02-01T00:00:00.000Z' }),
      { permitted: false, reason: 'revoked' },
    ],
    [
      'an expired consent denies as expired',
      grant('', '3', { status: 'inactive', inactiveReason: 'expired', periodEnd: '2026-02-01T00:00:00.000Z' }),
      { permitted: false, reason: 'expired' },
    ],
  ])('%s', async (_name, template, expected) => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, cacheTtlMs: 0 });
    const { id } = await client.upsertConsent(tenant, { ...template, patientRef: patient });
    expect(await client.decideTelehealth(tenant, patient, at)).toEqual({ ...expected, consentId: id });
  });

  it('a patient with no consent is denied with no_consent', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url });
    expect(await client.decideTelehealth(tenant, patient, at)).toEqual({ permitted: false, reason: 'no_consent' });
  });

  it("another tenant's consent for the same patient ref never decides", async () => {
    const { tenant, patient } = fresh();
    const other = `${tenant}-other`;
    const client = createAccessPolicyClient({ baseUrl: standIn.url, cacheTtlMs: 0 });
    await client.upsertConsent(other, grant(patient, '200'));
    expect(await client.decideTelehealth(tenant, patient, at)).toEqual({ permitted: false, reason: 'no_consent' });
    expect(await client.countConsents(tenant)).toBe(0);
    expect(await client.countConsents(other)).toBe(1);
  });

  it('the same identifier in two tenants makes two separate consents', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url });
    const a = await client.upsertConsent(tenant, grant(patient, '300'));
    const b = await client.upsertConsent(`${tenant}-b`, grant(patient, '300'));
    expect(b.created).toBe(true);
    expect(b.id).not.toBe(a.id);
  });

  it('serves a decision from its cache within the TTL and asks again after it', async () => {
    const { tenant, patient } = fresh();
    let clock = at.getTime();
    const writer = createAccessPolicyClient({ baseUrl: standIn.url });
    const reader = createAccessPolicyClient({ baseUrl: standIn.url, cacheTtlMs: 5000, now: () => clock });
    const { id } = await writer.upsertConsent(tenant, grant(patient, '400'));
    const before = standIn.requests().decisions;

    expect(await reader.decideTelehealth(tenant, patient)).toEqual({ permitted: true, reason: 'granted', consentId: id });
    // Revoked through another client: this reader's cache cannot know and keeps serving the permit.
    await writer.upsertConsent(tenant, grant(patient, '400', { status: 'inactive', inactiveReason: 'revoked' }));
    clock += 4999;
    expect(await reader.decideTelehealth(tenant, patient)).toEqual({ permitted: true, reason: 'granted', consentId: id });
    expect(standIn.requests().decisions - before).toBe(1);

    clock += 1;
    expect(await reader.decideTelehealth(tenant, patient)).toEqual({ permitted: false, reason: 'revoked', consentId: id });
    expect(standIn.requests().decisions - before).toBe(2);
  });

  it('an upsert through the same client drops that patient from its cache', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, cacheTtlMs: 60_000 });
    await client.upsertConsent(tenant, grant(patient, '500'));
    expect((await client.decideTelehealth(tenant, patient)).permitted).toBe(true);
    await client.upsertConsent(tenant, grant(patient, '500', { status: 'inactive', inactiveReason: 'expired' }));
    expect((await client.decideTelehealth(tenant, patient)).reason).toBe('expired');
  });

  it('a 503 outage is a retryable IntegrationError after a bounded number of attempts', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, retryBaseMs: 1 });
    const before = standIn.requests();
    standIn.setDown(true);
    try {
      const error = await client.decideTelehealth(tenant, patient).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error).toMatchObject({
        system: 'access-policy',
        status: 503,
        retryable: true,
        message: `consent decision for tenant ${tenant}: access-policy answered 503`,
      });
      expect(String((error as Error).message)).not.toContain(patient);
    } finally {
      standIn.setDown(false);
    }
    // One attempt and the default single decision retry; none got past the outage.
    expect(standIn.requests().received - before.received).toBe(2);
    expect(standIn.requests().decisions - before.decisions).toBe(0);
  });

  it('a slow access-policy is a retryable timeout error that names no patient', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, timeoutMs: 50, decisionRetries: 1, retryBaseMs: 1 });
    standIn.setDelayMs(1000);
    try {
      const error = await client.decideTelehealth(tenant, patient).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error).toMatchObject({
        system: 'access-policy',
        status: undefined,
        retryable: true,
        message: `consent decision for tenant ${tenant}: no answer within 50 ms`,
      });
    } finally {
      standIn.setDelayMs(0);
    }
  });

  it('rides out a short outage within its retries', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url, decisionRetries: 2, retryBaseMs: 1 });
    const before = standIn.requests().decisions;
    standIn.failNext(2);
    expect(await client.decideTelehealth(tenant, patient)).toEqual({ permitted: false, reason: 'no_consent' });
    expect(standIn.requests().decisions - before).toBe(1);
    standIn.failNext(1);
    const impatient = createAccessPolicyClient({ baseUrl: standIn.url, decisionRetries: 0 });
    await expect(impatient.decideTelehealth(tenant, patient)).rejects.toMatchObject({ status: 503, retryable: true });
  });

  it('a bad request is not retryable', async () => {
    const client = createAccessPolicyClient({ baseUrl: standIn.url, retries: 3, retryBaseMs: 1 });
    const before = standIn.requests().upserts;
    const error = await client.upsertConsent('t', grant('', '600')).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'IntegrationError', system: 'access-policy', status: 400, retryable: false });
    expect(standIn.requests().upserts - before).toBe(1);
  });

  it('finds consents by identifier, a few dozen per search, values with commas, bars and backslashes included', async () => {
    const { tenant, patient } = fresh();
    const client = createAccessPolicyClient({ baseUrl: standIn.url });
    const odd = ['a,b', 'c|d', 'e\\f', 'g$h'];
    const ids = [...Array.from({ length: 120 }, (_, i) => String(1000 + i)), ...odd];
    for (const id of ids)
      await client.upsertConsent(tenant, grant(patient, id, id === '1001' ? { status: 'inactive', periodEnd: '2026-02-01T00:00:00.000Z' } : {}));
    await client.upsertConsent('elsewhere', grant(patient, '1000'));
    const searchesBefore = standIn.requests().searches;
    const wanted = [...ids.filter((id) => id !== '1002'), 'never-imported'].map((value) => ({ system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value }));
    const found = await client.findConsents(tenant, wanted);
    // 124 identifiers asked: three searches of at most 50, not one request per consent.
    expect(standIn.requests().searches - searchesBefore).toBe(3);
    expect(found.map((c) => c.identifier.value).sort()).toEqual(ids.filter((id) => id !== '1002').sort());
    expect(found.find((c) => c.identifier.value === '1001')).toEqual({
      identifier: { system: LEGACY_CONSENT_IDENTIFIER_SYSTEM, value: '1001' },
      patientRef: patient,
      status: 'inactive',
      periodStart: '2026-01-01T00:00:00.000Z',
      periodEnd: '2026-02-01T00:00:00.000Z',
    });
  });
});
