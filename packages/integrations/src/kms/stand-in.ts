import { randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AES_KEY_BYTES } from './envelope';
import { ACCOUNT, type Body, KmsFault, makeHandlers, type StandInKey } from './stand-in-operations';

/**
 * A loopback AWS KMS speaking the JSON 1.1 protocol (`X-Amz-Target: TrentService.<Operation>`,
 * `application/x-amz-json-1.1`, blobs in base64, errors as `{"__type", "message"}` with AWS's HTTP statuses),
 * so the real `@aws-sdk/client-kms` runs against it. SigV4 is not verified, but a request without an
 * `Authorization` header is refused as AWS does.
 */
export interface KmsStandIn {
  url: string;
  close(): Promise<void>;
  /** Key ids (UUIDs) of the keys made so far, oldest first. */
  readonly keyIds: string[];
  /** Makes a new symmetric key; `alias` (`alias/<name>`) makes it addressable by that name too. */
  createKey(alias?: string): string;
  /** The next `n` requests fail: `throttle` → 400 ThrottlingException, `deny` → 400 AccessDeniedException, `5xx` → 500 KMSInternalException. */
  failNext(n: number, kind: FaultKind): void;
  /** While on, every request fails with 400 AccessDeniedException. */
  denyAll(on: boolean): void;
  /** Every request received, in order; `target` is the operation name without the `TrentService.` prefix (`Encrypt`). */
  readonly calls: Array<{ target: string }>;
}

export type FaultKind = 'throttle' | 'deny' | '5xx';

export interface KmsStandInOptions {
  /** How many keys exist at start (default 1). */
  keys?: number;
  region?: string;
}

const JSON_11 = 'application/x-amz-json-1.1';

const FAULTS: Record<FaultKind, () => KmsFault> = {
  throttle: () => new KmsFault('ThrottlingException', 400, 'Rate exceeded'),
  deny: () => new KmsFault('AccessDeniedException', 400, 'User is not authorized to perform this operation'),
  '5xx': () => new KmsFault('KMSInternalException', 500, 'The request was rejected because an internal exception occurred'),
};

/** Starts the stand-in on 127.0.0.1, port 0. */
export async function startKmsStandIn(opts: KmsStandInOptions = {}): Promise<KmsStandIn> {
  const region = opts.region ?? 'us-east-1';
  const keys = new Map<string, StandInKey>();
  const aliases = new Map<string, string>();
  const keyIds: string[] = [];
  const calls: Array<{ target: string }> = [];
  const faults: FaultKind[] = [];
  let denying = false;

  function createKey(alias?: string): string {
    const id = randomUUID();
    keys.set(id, { id, arn: `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`, material: randomBytes(AES_KEY_BYTES), createdAt: new Date() });
    keyIds.push(id);
    if (alias) aliases.set(alias.startsWith('alias/') ? alias : `alias/${alias}`, id);
    return id;
  }
  for (let i = 0; i < (opts.keys ?? 1); i++) createKey();

  const handlers = makeHandlers(keys, aliases);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
    calls.push({ target: operation });
    try {
      if (req.method !== 'POST') throw new KmsFault('UnknownOperationException', 404, 'Only POST is supported');
      if (!req.headers.authorization) throw new KmsFault('MissingAuthenticationTokenException', 400, 'Missing Authentication Token');
      if (denying) throw FAULTS.deny();
      const fault = faults.shift();
      if (fault) throw FAULTS[fault]();
      const handler = Object.hasOwn(handlers, operation) ? handlers[operation as keyof typeof handlers] : undefined;
      if (!target.startsWith('TrentService.') || !handler) throw new KmsFault('UnknownOperationException', 400, `Unknown operation ${target}`);
      send(res, 200, handler(parseJson(raw)));
    } catch (error) {
      const fault = error instanceof KmsFault ? error : new KmsFault('KMSInternalException', 500, 'internal error');
      res.setHeader('x-amzn-ErrorType', fault.type);
      send(res, fault.status, { __type: fault.type, message: fault.message });
    }
  }

  const server = createServer((req, res) => {
    // Only reading the body can throw here (the client went away): drop that connection.
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    keyIds,
    calls,
    createKey,
    failNext: (n, kind) => faults.push(...Array<FaultKind>(n).fill(kind)),
    denyAll: (on) => {
      denying = on;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // The SDK keeps sockets alive; without this close() would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}

function parseJson(raw: string): Body {
  try {
    const value: unknown = JSON.parse(raw || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Body;
  } catch {
    // Falls through to the protocol's own error below.
  }
  throw new KmsFault('SerializationException', 400, 'Request body is not a JSON object');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_11, 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID() });
  res.end(text);
}
