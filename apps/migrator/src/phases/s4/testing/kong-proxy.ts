import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback proxy in front of the Kong Admin stand-in, for tests of what happens around an apply. */
export interface KongProxy {
  url: string;
  /** While true, every write (non-GET) answers 503, as a Kong Admin API that is going down would. */
  failWrites: boolean;
  /** Runs once, when the first write arrives, before it is forwarded (e.g. a legacy write during the apply). */
  onFirstWrite?: () => Promise<void>;
  /** Runs before each read (GET) is forwarded: a test holds a read there to act while the command waits on Kong. */
  beforeRead?: () => Promise<void>;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? Buffer.concat(chunks) : undefined;
}

/** Starts a {@link KongProxy} on 127.0.0.1 (port 0) forwarding to `target`. */
export async function startKongProxy(target: string): Promise<KongProxy> {
  const server = createServer((req, res) => {
    void (async () => {
      const body = await bodyOf(req);
      if (req.method !== 'GET') {
        if (proxy.failWrites) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
        const hook = proxy.onFirstWrite;
        proxy.onFirstWrite = undefined;
        await hook?.();
      } else await proxy.beforeRead?.();
      const contentType = req.headers['content-type'];
      const upstream = await fetch(`${target}${req.url ?? '/'}`, { method: req.method, headers: contentType ? { 'content-type': contentType } : {}, body });
      const answer = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(answer);
    })().catch((error: unknown) => res.writeHead(502, { 'content-type': 'text/plain' }).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: KongProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failWrites: false,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return proxy;
}
