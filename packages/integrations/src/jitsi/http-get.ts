import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { guardedLookup, type OutboundPolicy } from './outbound';

/** What one probe request saw. `tls` is set for https URLs. */
export interface ProbeResponse {
  status: number;
  contentType: string;
  /** The body, cut at {@link MAX_BODY_BYTES}: enough to recognise a file, never the whole internet. */
  body: string;
  tls?: { authorized: boolean; error?: string; validTo?: string };
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * GET `url` and report, without throwing on a bad certificate: the TLS verdict is a check of its own, and
 * the files behind an untrusted certificate are still worth reporting on. Rejects on network errors and timeouts.
 */
export function probeGet(url: URL, opts: { timeoutMs: number; ca?: string | Buffer; policy?: OutboundPolicy }): Promise<ProbeResponse> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const options = {
      method: 'GET',
      timeout: opts.timeoutMs,
      headers: { accept: '*/*', 'user-agent': 'virtual-care-connection-test' },
      ...(opts.policy ? { lookup: guardedLookup(opts.policy) } : {}),
    };
    const handle = (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
          ...(https ? { tls: tlsVerdict(response.socket as TLSSocket) } : {}),
        }),
      );
    };
    const req = https
      ? httpsRequest(url, { ...options, rejectUnauthorized: false, ...(opts.ca ? { ca: opts.ca } : {}), agent: false }, handle)
      : httpRequest(url, { ...options, agent: false }, handle);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

function tlsVerdict(socket: TLSSocket): NonNullable<ProbeResponse['tls']> {
  const validTo = socket.getPeerCertificate?.()?.valid_to;
  const error = socket.authorizationError;
  return {
    authorized: socket.authorized,
    ...(error ? { error: typeof error === 'string' ? error : (error as Error).message } : {}),
    ...(validTo ? { validTo } : {}),
  };
}
