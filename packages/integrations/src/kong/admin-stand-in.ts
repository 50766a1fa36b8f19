import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { listenOnLoopback } from '../loopback';
import { adminToKongConfig, type AdminPlugin, type AdminRoute, type AdminService } from './admin-entities';
import type { KongConfig } from './types';

/** Options of {@link startKongAdminStandIn}. */
export interface KongAdminStandInOptions {
  /** Routing present at start (e.g. the legacy digital-communication service), created through the same code as API calls. */
  initial?: KongConfig;
  /** Largest page a list returns, whatever `size` asks (Kong: 1000). Small values exercise `next` paging. */
  maxPageSize?: number;
}

/** A running Kong Admin API stand-in. */
export interface KongAdminStandIn {
  url: string;
  close(): Promise<void>;
  /** The routing it holds, as a declarative config. */
  current(): KongConfig;
  /** Every request served, in order: writes are the ones that are not GET. */
  calls: Array<{ method: string; path: string }>;
  /** While down, every request answers 503. */
  setDown(down: boolean): void;
}

// Kong 3.x bundled plugins this stand-in accepts; anything else gets Kong's "not enabled" answer.
const BUNDLED_PLUGINS = new Set([
  'acl', 'acme', 'ai-proxy', 'aws-lambda', 'azure-functions', 'basic-auth', 'bot-detection', 'correlation-id', 'cors', 'datadog',
  'file-log', 'grpc-gateway', 'grpc-web', 'hmac-auth', 'http-log', 'ip-restriction', 'jwt', 'key-auth', 'ldap-auth', 'loggly',
  'oauth2', 'opentelemetry', 'post-function', 'pre-function', 'prometheus', 'proxy-cache', 'rate-limiting', 'redirect',
  'request-size-limiting', 'request-termination', 'request-transformer', 'response-ratelimiting', 'response-transformer',
  'session', 'statsd', 'syslog', 'tcp-log', 'udp-log', 'zipkin',
]);

type Entity = AdminService | AdminRoute | AdminPlugin;
type Kind = 'services' | 'routes' | 'plugins';

class AdminProblem extends Error {
  constructor(readonly status: number, readonly body: { code: number; name: string; message: string }) {
    super(body.message);
  }
}
const schemaViolation = (message: string) => new AdminProblem(400, { code: 2, name: 'schema violation', message: `schema violation (${message})` });
const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/**
 * Starts a Kong Admin API subset on 127.0.0.1: services, routes and plugins with ids, names and tags; list
 * paging with `size`/`offset` → `{ data, next, offset }`; `POST` create, `PUT /{kind}/{id|name}` upsert (replaces
 * the entity), `PATCH` merge, `DELETE` (204; a service still referenced by routes → 400 foreign key
 * violation; deleting a route or service cascades its plugins); nested `/services/{x}/routes`,
 * `/services/{x}/plugins`, `/routes/{x}/plugins`. Names and plugin (name, route, service, consumer) are unique (409).
 */
export async function startKongAdminStandIn(options: KongAdminStandInOptions = {}): Promise<KongAdminStandIn> {
  const store: { services: AdminService[]; routes: AdminRoute[]; plugins: AdminPlugin[] } = { services: [], routes: [], plugins: [] };
  const calls: KongAdminStandIn['calls'] = [];
  const maxPage = options.maxPageSize ?? 1000;
  let down = false;

  const find = <K extends Kind>(kind: K, idOrName: string): (typeof store)[K][number] | undefined =>
    (store[kind] as Entity[]).find((e) => e.id === idOrName || ('name' in e && kind !== 'plugins' && e.name === idOrName)) as (typeof store)[K][number] | undefined;
  const mustFind = <K extends Kind>(kind: K, idOrName: string) => {
    const found = find(kind, idOrName);
    if (!found) throw new AdminProblem(404, { code: 6, name: 'not found', message: 'Not found' });
    return found;
  };

  const build = { services: buildService, routes: buildRoute, plugins: buildPlugin } as const;
  function save<K extends Kind>(kind: K, body: Record<string, unknown>, existing: Entity | undefined): Entity {
    const now = Math.floor(Date.now() / 1000);
    const entity = { ...build[kind](body, find), id: existing?.id ?? (typeof body.id === 'string' ? body.id : randomUUID()), created_at: (existing as { created_at?: number })?.created_at ?? now, updated_at: now } as unknown as Entity;
    checkUnique(kind, entity);
    const list = store[kind] as Entity[];
    if (existing) list.splice(list.indexOf(existing), 1, entity);
    else list.push(entity);
    return entity;
  }
  function checkUnique(kind: Kind, entity: Entity): void {
    const clash = (store[kind] as Entity[]).find((other) => {
      if (other.id === entity.id) return false;
      if (kind !== 'plugins') return (other as AdminService).name !== null && (other as AdminService).name === (entity as AdminService).name;
      const [a, b] = [other as AdminPlugin, entity as AdminPlugin];
      return a.name === b.name && a.route?.id === b.route?.id && a.service?.id === b.service?.id && a.consumer?.id === b.consumer?.id;
    });
    if (clash) throw new AdminProblem(409, { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '${kind}'` });
  }
  function remove(kind: Kind, entity: Entity): void {
    if (kind === 'services' && store.routes.some((r) => r.service?.id === entity.id)) {
      throw new AdminProblem(400, { code: 4, name: 'foreign key violation', message: "an existing 'routes' entity references this 'services' entity" });
    }
    (store[kind] as Entity[]).splice((store[kind] as Entity[]).indexOf(entity), 1);
    // Kong deletes a route's or service's plugins with it (on_delete = cascade).
    store.plugins = store.plugins.filter((p) => p.route?.id !== entity.id && p.service?.id !== entity.id);
  }

  const app = express();
  app.use((req, res, next) => {
    calls.push({ method: req.method, path: req.path });
    if (down) return void res.status(503).json({ message: 'unavailable' });
    next();
  });
  app.use(express.json({ limit: '1mb' }));
  app.get('/', (_req, res) => void res.json({ version: '3.9.1', tagline: 'Welcome to kong (virtual-care stand-in)' }));

  for (const kind of ['services', 'routes', 'plugins'] as const) {
    const router: Router = express.Router();
    router.get('/', (req, res) => void res.json(page(store[kind] as Entity[], req, kind, maxPage)));
    router.post('/', (req, res) => void res.status(201).json(save(kind, req.body as Record<string, unknown>, undefined)));
    router.get('/:key', (req, res) => void res.json(mustFind(kind, req.params.key)));
    router.put('/:key', (req, res) => {
      const key = req.params.key;
      const body = { ...(req.body as Record<string, unknown>) };
      if (kind !== 'plugins' && !isUuid(key)) body.name = key;
      const existing = find(kind, key);
      if (!existing && kind === 'plugins' && !isUuid(key)) throw schemaViolation('id: expected a valid UUID');
      res.json(save(kind, { ...body, ...(isUuid(key) ? { id: key } : {}) }, existing));
    });
    router.patch('/:key', (req, res) => {
      const existing = mustFind(kind, req.params.key);
      const body = req.body as Record<string, unknown>;
      const merged = { ...existing, ...body } as Record<string, unknown>;
      // Kong merges nested records on PATCH, so a partial plugin config keeps the other fields.
      if (kind === 'plugins' && body.config) merged.config = { ...(existing as AdminPlugin).config, ...(body.config as object) };
      if (kind === 'services' && (body.url || body.host)) for (const field of ['protocol', 'port', 'path'] as const) if (!(field in body)) delete merged[field];
      res.json(save(kind, merged, existing));
    });
    router.delete('/:key', (req, res) => {
      const existing = find(kind, req.params.key);
      if (existing) remove(kind, existing);
      res.status(204).end();
    });
    app.use(`/${kind}`, router);
  }

  // Nested collections: what Kong offers under a service or route.
  const nested = (parentKind: 'services' | 'routes', childKind: 'routes' | 'plugins') => {
    const foreignKey = parentKind === 'services' ? 'service' : 'route';
    app.get(`/${parentKind}/:key/${childKind}`, (req, res) => {
      const parent = mustFind(parentKind, req.params.key);
      const children = (store[childKind] as Entity[]).filter((c) => (c as unknown as Record<string, { id: string } | null>)[foreignKey]?.id === parent.id);
      res.json(page(children, req, `${parentKind}/${req.params.key}/${childKind}`, maxPage));
    });
    app.post(`/${parentKind}/:key/${childKind}`, (req, res) => {
      const parent = mustFind(parentKind, req.params.key);
      res.status(201).json(save(childKind, { ...(req.body as object), [foreignKey]: { id: parent.id } }, undefined));
    });
  };
  nested('services', 'routes');
  nested('services', 'plugins');
  nested('routes', 'plugins');

  app.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    if (error instanceof AdminProblem) return void res.status(error.status).json(error.body);
    res.status(500).json({ message: 'An unexpected error occurred' });
  });

  for (const service of options.initial?.services ?? []) {
    const saved = save('services', { name: service.name, url: service.url, tags: service.tags ?? null }, undefined);
    for (const plugin of service.plugins ?? []) save('plugins', { ...plugin, service: { id: saved.id } }, undefined);
    for (const route of service.routes ?? []) {
      const { plugins, ...fields } = route;
      const savedRoute = save('routes', { ...fields, service: { id: saved.id } }, undefined);
      for (const plugin of plugins ?? []) save('plugins', { ...plugin, route: { id: savedRoute.id } }, undefined);
    }
  }

  const { url, close } = await listenOnLoopback(app);
  return {
    url,
    close,
    calls,
    current: () => adminToKongConfig(store.services, store.routes, store.plugins),
    setDown: (value) => void (down = value),
  };
}

function page<T>(items: T[], req: Request, path: string, maxPage: number) {
  const size = Math.min(Math.max(Number(req.query.size ?? 100) || 100, 1), maxPage);
  const start = typeof req.query.offset === 'string' ? Number(Buffer.from(req.query.offset, 'base64url').toString()) || 0 : 0;
  const data = items.slice(start, start + size);
  if (start + size >= items.length) return { data, next: null };
  const offset = Buffer.from(String(start + size)).toString('base64url');
  return { data, next: `/${path}?offset=${offset}&size=${size}`, offset };
}

function buildService(body: Record<string, unknown>): AdminService & Record<string, unknown> {
  let parts = { protocol: body.protocol ?? 'http', host: body.host, port: body.port, path: body.path ?? null };
  if (typeof body.url === 'string') {
    const url = new URL(body.url);
    parts = { protocol: url.protocol.slice(0, -1), host: url.hostname, port: url.port ? Number(url.port) : undefined, path: url.pathname === '/' && !body.url.endsWith('/') ? null : url.pathname };
  }
  if (typeof parts.host !== 'string' || !parts.host) throw schemaViolation('host: required field missing');
  const protocol = String(parts.protocol);
  return {
    id: '',
    name: typeof body.name === 'string' ? body.name : null,
    protocol,
    host: parts.host,
    port: typeof parts.port === 'number' ? parts.port : protocol === 'https' ? 443 : 80,
    path: typeof parts.path === 'string' ? parts.path : null,
    retries: body.retries ?? 5,
    connect_timeout: body.connect_timeout ?? 60000,
    write_timeout: body.write_timeout ?? 60000,
    read_timeout: body.read_timeout ?? 60000,
    enabled: body.enabled ?? true,
    tags: tagsOf(body.tags),
  };
}

function buildRoute(body: Record<string, unknown>, find: (kind: 'services', key: string) => Entity | undefined): AdminRoute & Record<string, unknown> {
  const serviceRef = body.service as { id?: unknown } | null | undefined;
  if (serviceRef && (typeof serviceRef.id !== 'string' || !find('services', serviceRef.id))) throw schemaViolation('service: the foreign key does not exist');
  const paths = Array.isArray(body.paths) && body.paths.length > 0 ? (body.paths as string[]) : null;
  const methods = Array.isArray(body.methods) && body.methods.length > 0 ? (body.methods as string[]) : null;
  if (!paths && !methods && !body.hosts) throw schemaViolation("must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'");
  return {
    id: '',
    name: typeof body.name === 'string' ? body.name : null,
    protocols: body.protocols ?? ['http', 'https'],
    paths,
    methods,
    hosts: body.hosts ?? null,
    strip_path: typeof body.strip_path === 'boolean' ? body.strip_path : true,
    preserve_host: body.preserve_host ?? false,
    regex_priority: body.regex_priority ?? 0,
    https_redirect_status_code: 426,
    path_handling: 'v0',
    tags: tagsOf(body.tags),
    service: serviceRef ? { id: serviceRef.id as string } : null,
  };
}

function buildPlugin(body: Record<string, unknown>, find: (kind: 'services' | 'routes', key: string) => Entity | undefined): AdminPlugin & Record<string, unknown> {
  const name = String(body.name ?? '');
  if (!BUNDLED_PLUGINS.has(name)) throw schemaViolation(`name: plugin '${name}' not enabled; add it to the 'plugins' configuration property`);
  const ref = (kind: 'services' | 'routes', value: unknown) => {
    const id = (value as { id?: unknown } | null | undefined)?.id;
    if (value == null) return null;
    if (typeof id !== 'string' || !find(kind, id)) throw schemaViolation(`${kind.slice(0, -1)}: the foreign key does not exist`);
    return { id };
  };
  return {
    id: '',
    name,
    config: (body.config as Record<string, unknown> | undefined) ?? {},
    enabled: body.enabled !== false,
    protocols: body.protocols ?? ['grpc', 'grpcs', 'http', 'https'],
    tags: tagsOf(body.tags),
    route: ref('routes', body.route),
    service: ref('services', body.service),
    consumer: null,
  };
}

function tagsOf(value: unknown): string[] | null {
  return Array.isArray(value) && value.length > 0 ? value.map(String) : null;
}
