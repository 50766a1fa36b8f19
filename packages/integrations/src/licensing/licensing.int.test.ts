import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLicensingClient } from './client';
import { startLicensingStandIn, type LicensingStandIn } from './stand-in';
import { IntegrationError } from '../errors';
import { VIRTUAL_CARE_MODULE } from './types';

let standIn: LicensingStandIn;
beforeAll(async () => {
  standIn = await startLicensingStandIn();
});
afterAll(() => standIn.close());

let seq = 0;
const freshTenant = () => `tenant-${++seq}`;

describe('licensing client against the stand-in over HTTP', () => {
  it('a module never licensed reads as disabled', async () => {
    const client = createLicensingClient({ baseUrl: standIn.url });
    expect(await client.isEnabled(freshTenant(), VIRTUAL_CARE_MODULE)).toBe(false);
  });

  it('enabling turns the module on once; enabling again changes nothing', async () => {
    const tenant = freshTenant();
    const client = createLicensingClient({ baseUrl: standIn.url });
    expect(await client.enableModule(tenant, VIRTUAL_CARE_MODULE)).toEqual({ enabled: true, changed: true });
    const [first] = standIn.modules(tenant);
    expect(await client.enableModule(tenant, VIRTUAL_CARE_MODULE)).toEqual({ enabled: true, changed: false });
    expect(await client.isEnabled(tenant, VIRTUAL_CARE_MODULE)).toBe(true);
    expect(standIn.modules(tenant)).toEqual([first]);
  });

  it("one tenant's licence does not enable another's module", async () => {
    const tenant = freshTenant();
    const client = createLicensingClient({ baseUrl: standIn.url });
    await client.enableModule(tenant, VIRTUAL_CARE_MODULE);
    expect(await client.isEnabled(`${tenant}-other`, VIRTUAL_CARE_MODULE)).toBe(false);
    expect(await client.isEnabled(tenant, 'billing-plus')).toBe(false);
  });

  it('rides out a short outage within its retries', async () => {
    const tenant = freshTenant();
    const client = createLicensingClient({ baseUrl: standIn.url, retries: 2, retryBaseMs: 1 });
    standIn.failNext(2);
    expect(await client.enableModule(tenant, VIRTUAL_CARE_MODULE)).toEqual({ enabled: true, changed: true });
  });

  it('a lasting outage is a retryable IntegrationError naming tenant and module', async () => {
    const tenant = freshTenant();
    const client = createLicensingClient({ baseUrl: standIn.url, retries: 1, retryBaseMs: 1 });
    standIn.setDown(true);
    try {
      const error = await client.enableModule(tenant, VIRTUAL_CARE_MODULE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrationError);
      expect(error).toMatchObject({
        system: 'licensing',
        status: 503,
        retryable: true,
        message: `enabling virtual-care for tenant ${tenant}: licensing API answered 503`,
      });
    } finally {
      standIn.setDown(false);
    }
    expect(standIn.modules(tenant)).toEqual([]);
  });
});

describe('licensing client options', () => {
  it('refuses a base URL that is not an absolute http(s) URL, naming the option', () => {
    expect(() => createLicensingClient({ baseUrl: 'licensing.internal/api' })).toThrow(
      new TypeError('baseUrl: expected an absolute http(s) URL like http://127.0.0.1:8080, got "licensing.internal/api"'),
    );
  });
});
