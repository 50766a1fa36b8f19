import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** A server listening on 127.0.0.1 and how to stop it. */
export interface LoopbackServer {
  /** `http(s)://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1 on a free port (port 0): every stand-in runs beside other engineers'
 * test servers, so a fixed port would collide. Pass an `https` server to serve TLS.
 */
export async function listenOnLoopback(handler: RequestListener, server: Server = createServer()): Promise<LoopbackServer> {
  server.on('request', handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const scheme = server instanceof TlsServer ? 'https' : 'http';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Clients keep connections alive (undici); without this, close() waits for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
