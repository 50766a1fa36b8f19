import { randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { canonicalContext } from './context';
import { AES_KEY_BYTES, open, parseEnvelope, seal } from './envelope';
import type { EncryptionContext } from './types';

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

const ACCOUNT = '111122223333';
const JSON_11 = 'application/x-amz-json-1.1';

class KmsFault extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const FAULTS: Record<FaultKind, () => KmsFault> = {
  throttle: () => new KmsFault('ThrottlingException', 400, 'Rate exceeded'),
  deny: () => new KmsFault('AccessDeniedException', 400, 'User is not authorized to perform this operation'),
  '5xx': () => new KmsFault('KMSInternalException', 500, 'The request was rejected because an internal exception occurred'),
};

interface StandInKey {
  id: string;
  arn: string;
  material: Buffer;
  createdAt: Date;
}

type Body = Record<string, unknown>;

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

function makeHandlers(keys: Map<string, StandInKey>, aliases: Map<string, string>) {
  function resolveKey(keyId: unknown): StandInKey {
    if (typeof keyId !== 'string' || !keyId) throw new KmsFault('ValidationException', 400, 'KeyId is required');
    const id = aliases.get(keyId) ?? keyId.replace(/^arn:aws:kms:[^:]*:[^:]*:key\//, '');
    const key = keys.get(id);
    if (!key) throw new KmsFault('NotFoundException', 400, `Key '${keyId}' does not exist`);
    return key;
  }

  function decryptBlob(body: Body, blobField: string, contextField: string, keyField: string): { key: StandInKey; plaintext: Buffer } {
    const envelope = parseEnvelope(blobOf(body, blobField));
    if (!envelope || !keys.has(envelope.keyId)) throw new KmsFault('InvalidCiphertextException', 400, 'The ciphertext is invalid');
    const key = keys.get(envelope.keyId)!;
    if (body[keyField] !== undefined && resolveKey(body[keyField]).id !== key.id) {
      throw new KmsFault('IncorrectKeyException', 400, 'The key ID in the request does not identify the key used to encrypt the ciphertext');
    }
    try {
      return { key, plaintext: open(key.material, envelope, canonicalContext(contextOf(body, contextField))) };
    } catch {
      // AWS answers a wrong encryption context exactly like a corrupt blob.
      throw new KmsFault('InvalidCiphertextException', 400, 'The ciphertext is invalid');
    }
  }

  const encryptUnder = (key: StandInKey, plaintext: Uint8Array, context: EncryptionContext) =>
    seal(key.material, key.id, plaintext, canonicalContext(context)).toString('base64');

  return {
    Encrypt(body: Body) {
      const key = resolveKey(body.KeyId);
      const plaintext = blobOf(body, 'Plaintext');
      return { CiphertextBlob: encryptUnder(key, plaintext, contextOf(body, 'EncryptionContext')), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    Decrypt(body: Body) {
      const { key, plaintext } = decryptBlob(body, 'CiphertextBlob', 'EncryptionContext', 'KeyId');
      return { Plaintext: plaintext.toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    },
    ReEncrypt(body: Body) {
      const { key: source, plaintext } = decryptBlob(body, 'CiphertextBlob', 'SourceEncryptionContext', 'SourceKeyId');
      const destination = resolveKey(body.DestinationKeyId);
      return {
        CiphertextBlob: encryptUnder(destination, plaintext, contextOf(body, 'DestinationEncryptionContext')),
        SourceKeyId: source.arn,
        KeyId: destination.arn,
        SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
        DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    GenerateDataKey(body: Body) {
      const key = resolveKey(body.KeyId);
      const bytes = typeof body.NumberOfBytes === 'number' ? body.NumberOfBytes : body.KeySpec === 'AES_128' ? 16 : body.KeySpec === 'AES_256' ? 32 : 0;
      if (bytes < 1 || bytes > 1024) throw new KmsFault('ValidationException', 400, 'Specify KeySpec (AES_128|AES_256) or NumberOfBytes (1–1024)');
      const plaintext = randomBytes(bytes);
      return { CiphertextBlob: encryptUnder(key, plaintext, contextOf(body, 'EncryptionContext')), Plaintext: plaintext.toString('base64'), KeyId: key.arn };
    },
    DescribeKey(body: Body) {
      const key = resolveKey(body.KeyId);
      return {
        KeyMetadata: {
          AWSAccountId: ACCOUNT,
          KeyId: key.id,
          Arn: key.arn,
          CreationDate: key.createdAt.getTime() / 1000,
          Enabled: true,
          KeyState: 'Enabled',
          KeyUsage: 'ENCRYPT_DECRYPT',
          KeySpec: 'SYMMETRIC_DEFAULT',
          CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
          EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
          KeyManager: 'CUSTOMER',
          Origin: 'AWS_KMS',
          MultiRegion: false,
          Description: '',
        },
      };
    },
  };
}

function blobOf(body: Body, field: string): Buffer {
  const value = body[field];
  if (typeof value !== 'string' || !value) throw new KmsFault('ValidationException', 400, `${field} is required (base64)`);
  return Buffer.from(value, 'base64');
}

function contextOf(body: Body, field: string): EncryptionContext {
  const value = body[field] ?? {};
  if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new KmsFault('ValidationException', 400, `${field} must map strings to strings`);
  }
  return value as EncryptionContext;
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
