import { describe, expect, it } from 'vitest';
import { createJitsiProbe } from './probe';
import { startJitsiStandIn } from './stand-in';
import { addressAllowed } from './outbound';

const accept = async () => true;
const checksOf = (result: { checks: Array<{ id: string; ok: boolean; detail?: string }> }) => Object.fromEntries(result.checks.map((c) => [c.id, c.detail]));

describe('the outbound policy of test-connection (SSRF)', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1'])(
    'refuses %s unless allowed',
    (address) => {
      expect(addressAllowed(address, { allowHttp: false, allow: [] })).toBe(false);
    },
  );

  it('allows public addresses, and private ones an allow-list names', () => {
    expect(addressAllowed('93.184.215.14', { allowHttp: false, allow: [] })).toBe(true);
    expect(addressAllowed('2606:4700::1111', { allowHttp: false, allow: [] })).toBe(true);
    expect(addressAllowed('10.1.2.3', { allowHttp: false, allow: ['10.0.0.0/8'] })).toBe(true);
    expect(addressAllowed('127.0.0.1', { allowHttp: false, allow: ['10.0.0.0/8'] })).toBe(false);
  });

  it('refuses http without the dev flag, and loopback reached by a name after DNS resolution', async () => {
    const jitsi = await startJitsiStandIn();
    try {
      const port = new URL(jitsi.url).port;
      const strict = createJitsiProbe({ timeoutMs: 2_000, policy: { allowHttp: false, allow: [] } });
      expect(checksOf(await strict.testConnection({ serverUrl: jitsi.url, token: 't', verify: accept })).reachable).toBe('only https is allowed');
      const httpOnly = createJitsiProbe({ timeoutMs: 2_000, policy: { allowHttp: true, allow: [] } });
      const byName = await httpOnly.testConnection({ serverUrl: `http://localhost:${port}`, token: 't', verify: accept });
      expect(byName.ok).toBe(false);
      expect(checksOf(byName).reachable).toBe('address not allowed');
      expect(checksOf(await httpOnly.testConnection({ serverUrl: `http://[::ffff:127.0.0.1]:${port}`, token: 't', verify: accept })).reachable).toBe(
        'address not allowed',
      );
      const allowed = createJitsiProbe({ timeoutMs: 2_000, policy: { allowHttp: true, allow: ['127.0.0.1/32', '::1/128'] } });
      expect((await allowed.testConnection({ serverUrl: `http://localhost:${port}`, token: 't', verify: accept })).ok).toBe(true);
    } finally {
      await jitsi.close();
    }
  });
});
