import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { listenOnLoopback } from '../loopback';

/** Options of {@link startJitsiStandIn}. */
export interface JitsiStandInOptions {
  /** Serve `external_api.js` as 404, like a deployment whose web assets were not installed. */
  broken?: boolean;
  /** Serve https with this key and certificate (PEM) instead of plain http. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** A running Jitsi Meet web stand-in. */
export interface JitsiStandIn {
  url: string;
  close(): Promise<void>;
}

// What a jitsi-meet web deployment serves at these paths, reduced to the parts a client recognises.
const CONFIG_JS = `var config = {\n  hosts: { domain: 'meet.jitsi', muc: 'muc.meet.jitsi' },\n  bosh: '/http-bind',\n  p2p: { enabled: true },\n};\n`;
const EXTERNAL_API_JS = `(function () {\n  function JitsiMeetExternalAPI(domain, options) { this.domain = domain; this.options = options; }\n  window.JitsiMeetExternalAPI = JitsiMeetExternalAPI;\n})();\n`;
const INDEX_HTML = '<!DOCTYPE html><html><head><title>Jitsi Meet</title></head><body></body></html>';

/** Starts a Jitsi Meet web stand-in on 127.0.0.1 serving `/`, `/config.js` and `/external_api.js`. */
export async function startJitsiStandIn(options: JitsiStandInOptions = {}): Promise<JitsiStandIn> {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://stand-in').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/config.js') return send(200, 'application/javascript; charset=utf-8', CONFIG_JS);
    if (path === '/external_api.js' && !options.broken) return send(200, 'application/javascript; charset=utf-8', EXTERNAL_API_JS);
    if (path === '/' || path === '/index.html') return send(200, 'text/html; charset=utf-8', INDEX_HTML);
    send(404, 'text/html; charset=utf-8', '<html><body>404 Not Found</body></html>');
  };
  const server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }) : createHttpServer();
  const { url, close } = await listenOnLoopback(handler, server);
  return { url, close };
}
