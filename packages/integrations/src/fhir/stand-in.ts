import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getStatus, normalizeOperationOutcome, OperationOutcomeError } from '@medplum/core';
import { type FhirRequest, FhirRouter, type HttpMethod, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { indexR4Definitions } from './r4-definitions';
import { r4Problems } from './r4-validate';

/** An in-process FHIR R4 server for tests and `pnpm demo`. */
export interface FhirStandIn {
  /** The FHIR base URL (`http://127.0.0.1:<port>/fhir/R4`). */
  url: string;
  close(): Promise<void>;
  /** While down, every request is answered 503 with an OperationOutcome, like an EHR in maintenance. */
  setDown(down: boolean): void;
  encounterCount(): Promise<number>;
}

const BASE_PATH = '/fhir/R4';
const METHODS = new Set<HttpMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const FHIR_JSON = 'application/fhir+json';

const outcome = (code: 'transient' | 'not-found' | 'invalid', text: string): OperationOutcome => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code, details: { text } }],
});

/**
 * Starts @medplum/fhir-router over a MemoryRepository behind node:http on 127.0.0.1, port 0. Resources are
 * validated against the R4 definitions, and writes run one at a time so that two concurrent conditional
 * creates (`If-None-Exist`) cannot both create, as a real server guarantees with a transaction.
 */
export async function startFhirStandIn(): Promise<FhirStandIn> {
  indexR4Definitions();
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  let down = false;
  let writes: Promise<unknown> = Promise.resolve();

  async function route(req: IncomingMessage, body: unknown): Promise<[number, Resource, Record<string, string>]> {
    const method = (req.method ?? 'GET').toUpperCase() as HttpMethod;
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (!url.pathname.startsWith(`${BASE_PATH}/`) || !METHODS.has(method)) return [404, outcome('not-found', `no route ${method} ${url.pathname}`), {}];
    const fhirRequest: FhirRequest = {
      method,
      url: url.pathname.slice(BASE_PATH.length) + url.search,
      // The router fills pathname, params and query from url; it refuses a request that sets pathname.
      pathname: '',
      params: {},
      query: {},
      body,
      headers: req.headers,
    };
    const byId = method === 'GET' ? idSearch(url) : undefined;
    if (byId) return [200, await readByIds(repo, byId.resourceType, byId.ids), {}];
    const run = async () => {
      if (isResource(body) && (method === 'POST' || method === 'PUT')) validate(body);
      return router.handleRequest(fhirRequest, repo);
    };
    const result = method === 'GET' ? await run() : await serialised(run);
    const [resultOutcome, resource] = result;
    const status = getStatus(resultOutcome);
    const headers: Record<string, string> = {};
    if (resource?.id && resource.meta?.versionId) {
      headers.ETag = `W/"${resource.meta.versionId}"`;
      if (status === 201) headers.Location = `${BASE_PATH}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
    }
    return [status, resource ?? resultOutcome, headers];
  }

  function serialised<T>(fn: () => Promise<T>): Promise<T> {
    const next = writes.then(fn, fn);
    writes = next.catch(() => undefined);
    return next;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (down) return send(res, 503, outcome('transient', 'FHIR server is down for maintenance'));
    try {
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      const [status, resource, headers] = await route(req, body);
      send(res, status, resource, headers);
    } catch (error) {
      const failure = error instanceof SyntaxError ? outcome('invalid', 'request body is not JSON') : normalizeOperationOutcome(error);
      send(res, error instanceof SyntaxError ? 400 : getStatus(failure), failure);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${BASE_PATH}`,
    setDown: (value) => {
      down = value;
    },
    async encounterCount() {
      const bundle = await repo.search({ resourceType: 'Encounter', total: 'accurate', count: 0 });
      return bundle.total ?? 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

const ID_SEARCH_PARAMS = new Set(['_id', '_elements', '_count']);

/**
 * `GET <Type>?_id=a,b,…[&_elements=id][&_count=n]`: what a real server answers from its primary key. The
 * MemoryRepository's search scans every stored resource per request, which made a look-up of many ids in
 * batches quadratic in the stand-in alone (bench/RESULTS.md, validate); here each id is one read.
 */
function idSearch(url: URL): { resourceType: string; ids: string[] } | undefined {
  const type = /^\/fhir\/R4\/([A-Z][A-Za-z]+)$/.exec(url.pathname)?.[1];
  const ids = url.searchParams.get('_id');
  if (!type || ids === null || ![...url.searchParams.keys()].every((k) => ID_SEARCH_PARAMS.has(k))) return undefined;
  const elements = url.searchParams.get('_elements');
  if (elements !== null && elements !== 'id') return undefined;
  return { resourceType: type, ids: [...new Set(ids.split(',').filter((id) => id !== ''))] };
}

async function readByIds(repo: MemoryRepository, resourceType: string, ids: readonly string[]): Promise<Bundle> {
  const found: Resource[] = [];
  for (const id of ids) {
    try {
      const resource = await repo.readResource(resourceType as Resource['resourceType'], id);
      found.push({ resourceType: resource.resourceType, id: resource.id } as Resource);
    } catch (error) {
      // Not held, or deleted: not in the searchset, as a search would answer; anything else is a fault.
      const status = getStatus(normalizeOperationOutcome(error));
      if (status !== 404 && status !== 410) throw error;
    }
  }
  return { resourceType: 'Bundle', type: 'searchset', total: found.length, entry: found.map((resource) => ({ resource })) };
}

function isResource(body: unknown): body is Resource {
  return typeof body === 'object' && body !== null && typeof (body as Resource).resourceType === 'string';
}

/** R4 validation, so a malformed Encounter fails here as it would on a real EHR, not silently. */
function validate(resource: Resource): void {
  const problems = r4Problems(resource);
  if (problems.length > 0) throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: problems.map((i) => ({ ...i, severity: 'error' })) });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: Resource, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
