import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../loopback';
import { createJitsiProbe } from './probe';
import { startJitsiStandIn, type JitsiStandIn } from './stand-in';

const TOKEN = 'header.payload-with-secret-claims.signature';
const testedAt = new Date('2026-03-01T12:00:00Z');
const probe = createJitsiProbe({ timeoutMs: 2000, now: () => testedAt });
const accept = async (token: string) => token === TOKEN;

/** A certificate for 127.0.0.1 signed by nobody: what a hurried deployment ships. */
function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vc-jitsi-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let healthy: JitsiStandIn;
let broken: JitsiStandIn;
let selfSigned: JitsiStandIn;
let certificate: { key: string; cert: string };
beforeAll(async () => {
  certificate = selfSignedCertificate();
  [healthy, broken, selfSigned] = await Promise.all([startJitsiStandIn(), startJitsiStandIn({ broken: true }), startJitsiStandIn({ tls: certificate })]);
});
afterAll(() => Promise.all([healthy.close(), broken.close(), selfSigned.close()]));

describe('Jitsi connection test over HTTP', () => {
  it('passes every check on a healthy loopback deployment', async () => {
    expect(await probe.testConnection({ serverUrl: healthy.url, token: TOKEN, verify: accept })).toEqual({
      ok: true,
      testedAt: '2026-03-01T12:00:00.000Z',
      checks: [
        { id: 'reachable', ok: true, detail: 'HTTP 200' },
        { id: 'tls', ok: true, detail: 'loopback' },
        { id: 'config_js', ok: true, detail: 'HTTP 200' },
        { id: 'external_api_js', ok: true, detail: 'HTTP 200' },
        { id: 'token_verifies', ok: true },
      ],
    });
  });

  it('fails the external_api.js check of a deployment that does not serve it', async () => {
    const result = await probe.testConnection({ serverUrl: `${broken.url}/`, token: TOKEN, verify: accept });
    expect(result.ok).toBe(false);
    expect(result.checks.filter((c) => !c.ok)).toEqual([{ id: 'external_api_js', ok: false, detail: 'HTTP 404' }]);
  });

  it('reports an unreachable port on every network check without throwing', async () => {
    const closed = await listenOnLoopback(() => undefined);
    await closed.close();
    const result = await probe.testConnection({ serverUrl: closed.url, token: TOKEN, verify: accept });
    expect(result).toEqual({
      ok: false,
      testedAt: '2026-03-01T12:00:00.000Z',
      checks: [
        { id: 'reachable', ok: false, detail: 'connection refused' },
        { id: 'tls', ok: true, detail: 'loopback' },
        { id: 'config_js', ok: false, detail: 'connection refused' },
        { id: 'external_api_js', ok: false, detail: 'connection refused' },
        { id: 'token_verifies', ok: true },
      ],
    });
  });

  it('reports a deployment that accepts connections but never answers as timed out', async () => {
    const silent = await listenOnLoopback(() => undefined);
    try {
      const result = await createJitsiProbe({ timeoutMs: 100, now: () => testedAt }).testConnection({ serverUrl: silent.url, token: TOKEN, verify: accept });
      expect(result.checks.filter((c) => !c.ok)).toEqual([
        { id: 'reachable', ok: false, detail: 'no answer within 100 ms' },
        { id: 'config_js', ok: false, detail: 'no answer within 100 ms' },
        { id: 'external_api_js', ok: false, detail: 'no answer within 100 ms' },
      ]);
    } finally {
      await silent.close();
    }
  });

  it('fails TLS for a self-signed certificate and says so', async () => {
    const result = await probe.testConnection({ serverUrl: selfSigned.url, token: TOKEN, verify: accept });
    expect(selfSigned.url.startsWith('https://')).toBe(true);
    expect(result.ok).toBe(false);
    expect(result.checks.filter((c) => !c.ok)).toEqual([{ id: 'tls', ok: false, detail: 'certificate not trusted: self-signed certificate' }]);
  });

  it('accepts the same certificate once it is a trusted CA', async () => {
    const trusting = createJitsiProbe({ ca: certificate.cert, now: () => new Date() });
    const result = await trusting.testConnection({ serverUrl: selfSigned.url, token: TOKEN, verify: accept });
    expect(result.ok).toBe(true);
    // The test certificate lives two days: a valid certificate that close to lapsing is reported as such.
    expect(result.checks.find((c) => c.id === 'tls')?.detail).toMatch(/^valid until .+ GMT \(expires in [01] days\)$/);
  });

  it('fails TLS for plain http on a host that is not loopback', async () => {
    const result = await createJitsiProbe({ timeoutMs: 200 }).testConnection({ serverUrl: 'http://meet.invalid', token: TOKEN, verify: accept });
    expect(result.checks.find((c) => c.id === 'tls')).toEqual({ id: 'tls', ok: false, detail: 'not https' });
    expect(result.checks.find((c) => c.id === 'reachable')).toEqual({ id: 'reachable', ok: false, detail: 'host not found' });
  });

  it('reports a rejected token and a throwing verifier without echoing the token', async () => {
    const rejected = await probe.testConnection({ serverUrl: healthy.url, token: TOKEN, verify: async () => false });
    const thrown = await probe.testConnection({
      serverUrl: healthy.url,
      token: TOKEN,
      verify: async (token) => {
        throw new TypeError(`bad token ${token}`);
      },
    });
    expect(rejected.checks.at(-1)).toEqual({ id: 'token_verifies', ok: false, detail: 'token rejected' });
    expect(thrown.checks.at(-1)).toEqual({ id: 'token_verifies', ok: false, detail: 'verification failed (TypeError)' });
    expect(JSON.stringify([rejected, thrown])).not.toContain(TOKEN);
  });

  it('fails every check of an invalid server URL', async () => {
    const result = await probe.testConnection({ serverUrl: 'ftp://meet', token: TOKEN, verify: accept });
    expect(result.checks.map((c) => [c.id, c.ok, c.detail])).toEqual([
      ['reachable', false, 'invalid server URL'],
      ['tls', false, 'invalid server URL'],
      ['config_js', false, 'invalid server URL'],
      ['external_api_js', false, 'invalid server URL'],
      ['token_verifies', true, undefined],
    ]);
  });

  it('rejects a deployment answering HTML for its script paths', async () => {
    const spa = await listenOnLoopback((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>app shell</html>');
    });
    try {
      const result = await probe.testConnection({ serverUrl: spa.url, token: TOKEN, verify: accept });
      expect(result.checks.filter((c) => !c.ok)).toEqual([
        { id: 'config_js', ok: false, detail: 'served HTML, not JavaScript' },
        { id: 'external_api_js', ok: false, detail: 'served HTML, not JavaScript' },
      ]);
    } finally {
      await spa.close();
    }
  });
});
