import { probeGet, type ProbeResponse } from './http-get';
import { type OutboundPolicy, refusalOf } from './outbound';
import type { ConnectionCheck, ConnectionTestResult, JitsiProbe } from './types';

/** Options of {@link createJitsiProbe}. */
export interface JitsiProbeOptions {
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
  /** Extra trusted CA certificates (PEM), like NODE_EXTRA_CA_CERTS, for deployments behind a private CA. */
  ca?: string | Buffer;
  /** Clock for `testedAt` (tests). */
  now?: () => Date;
  /**
   * Where probes may connect (the service's test-connection, whose URL a tenant admin chooses: SSRF).
   * Absent: anywhere (operator tools such as the migrator's S2 check).
   */
  policy?: OutboundPolicy;
}

/** Node's certificate verification codes, said in words an operator can act on. */
const TLS_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  CERT_HAS_EXPIRED: 'certificate expired',
  CERT_NOT_YET_VALID: 'certificate not yet valid',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate chain incomplete',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host',
};

/**
 * The Jitsi connection test behind `POST /config/test-connection` and S2 step 2.2. Every check is reported;
 * nothing throws, and the token never appears in a detail.
 */
export function createJitsiProbe(options: JitsiProbeOptions = {}): JitsiProbe {
  const timeoutMs = options.timeoutMs ?? 5000;
  const now = options.now ?? (() => new Date());
  return {
    async testConnection({ serverUrl, token, verify }) {
      const testedAt = now().toISOString();
      const tokenCheck = checkToken(token, verify);
      const base = parseServerUrl(serverUrl);
      const refusal = base && options.policy ? refusalOf(base, options.policy) : undefined;
      if (!base || refusal) {
        const failed = (id: ConnectionCheck['id']): ConnectionCheck => ({ id, ok: false, detail: refusal ?? 'invalid server URL' });
        const checks = [failed('reachable'), failed('tls'), failed('config_js'), failed('external_api_js'), await tokenCheck];
        return { ok: false, testedAt, checks };
      }
      const get = (path: string) =>
        probeGet(new URL(path, base), { timeoutMs, ca: options.ca, policy: options.policy }).then(
          (response): Outcome => ({ got: true, response }),
          (error: unknown): Outcome => ({ got: false, error }),
        );
      const [root, configJs, externalApi, token_] = await Promise.all([get('./'), get('config.js'), get('external_api.js'), tokenCheck]);
      const checks: ConnectionCheck[] = [
        reachableCheck(root),
        tlsCheck(base, root, now()),
        fileCheck('config_js', configJs, /\bconfig\s*=/, 'no `config =` in it'),
        fileCheck('external_api_js', externalApi, /JitsiMeetExternalAPI/, 'no JitsiMeetExternalAPI in it'),
        token_,
      ];
      return { ok: checks.every((c) => c.ok), testedAt, checks } satisfies ConnectionTestResult;
    },
  };
}

type Outcome = { got: true; response: ProbeResponse } | { got: false; error: unknown };

function parseServerUrl(serverUrl: string): URL | undefined {
  try {
    const url = new URL(serverUrl);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    // Files resolve under the deployment's path: `https://meet.example.org/acme` serves `/acme/config.js`.
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    url.search = '';
    url.hash = '';
    return url;
  } catch {
    return undefined;
  }
}

function reachableCheck(root: Outcome): ConnectionCheck {
  if (!root.got) return { id: 'reachable', ok: false, detail: networkDetail(root.error) };
  return { id: 'reachable', ok: true, detail: `HTTP ${root.response.status}` };
}

const EXPIRY_WARNING_DAYS = 14;

function tlsCheck(base: URL, root: Outcome, at: Date): ConnectionCheck {
  if (base.protocol === 'http:') {
    return isLoopback(base.hostname) ? { id: 'tls', ok: true, detail: 'loopback' } : { id: 'tls', ok: false, detail: 'not https' };
  }
  if (!root.got) return { id: 'tls', ok: false, detail: `no TLS handshake: ${networkDetail(root.error)}` };
  const tls = root.response.tls;
  if (!tls?.authorized) {
    const code = tls?.error ?? 'unknown';
    return { id: 'tls', ok: false, detail: `certificate not trusted: ${TLS_ERRORS[code] ?? code}` };
  }
  if (!tls.validTo) return { id: 'tls', ok: true, detail: 'valid' };
  // Still valid, so ok; but a certificate about to lapse is worth saying in the stored result.
  const daysLeft = Math.floor((Date.parse(tls.validTo) - at.getTime()) / 86_400_000);
  return { id: 'tls', ok: true, detail: `valid until ${tls.validTo}${daysLeft < EXPIRY_WARNING_DAYS ? ` (expires in ${daysLeft} days)` : ''}` };
}

function fileCheck(id: 'config_js' | 'external_api_js', outcome: Outcome, marker: RegExp, missing: string): ConnectionCheck {
  if (!outcome.got) return { id, ok: false, detail: networkDetail(outcome.error) };
  const { status, contentType, body } = outcome.response;
  if (status !== 200) return { id, ok: false, detail: `HTTP ${status}` };
  // A proxy or SPA fallback answers 200 with an HTML page for any path: that is not the file.
  if (/html/i.test(contentType) || body.trimStart().startsWith('<')) return { id, ok: false, detail: 'served HTML, not JavaScript' };
  if (!marker.test(body)) return { id, ok: false, detail: missing };
  return { id, ok: true, detail: 'HTTP 200' };
}

async function checkToken(token: string, verify: (token: string) => Promise<boolean>): Promise<ConnectionCheck> {
  try {
    return (await verify(token)) ? { id: 'token_verifies', ok: true } : { id: 'token_verifies', ok: false, detail: 'token rejected' };
  } catch (error) {
    // Only the error's class: a JWT library's message may quote the token or its claims.
    return { id: 'token_verifies', ok: false, detail: `verification failed (${error instanceof Error ? error.name : 'error'})` };
  }
}

function networkDetail(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ETIMEDOUT':
      return error instanceof Error ? error.message : 'timed out';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EOUTBOUNDREFUSED':
      return 'address not allowed';
    default:
      return typeof code === 'string' ? code : 'unreachable';
  }
}

/** 127.0.0.0/8, ::1 and localhost: the only places plain http is acceptable (dev and tests). */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
