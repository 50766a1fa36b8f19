import { randomUUID } from 'node:crypto';
import type { AdminPlugin, AdminRoute, AdminService } from './admin-entities';

// Kong 3.x bundled plugins this stand-in accepts; anything else gets Kong's "not enabled" answer.
const BUNDLED_PLUGINS = new Set([
  'acl',
  'acme',
  'ai-proxy',
  'aws-lambda',
  'azure-functions',
  'basic-auth',
  'bot-detection',
  'correlation-id',
  'cors',
  'datadog',
  'file-log',
  'grpc-gateway',
  'grpc-web',
  'hmac-auth',
  'http-log',
  'ip-restriction',
  'jwt',
  'key-auth',
  'ldap-auth',
  'loggly',
  'oauth2',
  'opentelemetry',
  'post-function',
  'pre-function',
  'prometheus',
  'proxy-cache',
  'rate-limiting',
  'redirect',
  'request-size-limiting',
  'request-termination',
  'request-transformer',
  'response-ratelimiting',
  'response-transformer',
  'session',
  'statsd',
  'syslog',
  'tcp-log',
  'udp-log',
  'zipkin',
]);

export type Entity = AdminService | AdminRoute | AdminPlugin;
export type Kind = 'services' | 'routes' | 'plugins';

/** A refusal in Kong's error shape `{ code, name, message }`. */
export class AdminProblem extends Error {
  constructor(
    readonly status: number,
    readonly body: { code: number; name: string; message: string },
  ) {
    super(body.message);
  }
}
export const schemaViolation = (message: string) => new AdminProblem(400, { code: 2, name: 'schema violation', message: `schema violation (${message})` });
export const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

/**
 * The entities a Kong holds, with Kong's rules: ids, unique names, one plugin of a name per
 * (route, service, consumer), foreign keys checked, plugins cascading with their route or service.
 */
export class KongEntityStore {
  services: AdminService[] = [];
  routes: AdminRoute[] = [];
  plugins: AdminPlugin[] = [];

  find<K extends Kind>(kind: K, idOrName: string): KongEntityStore[K][number] | undefined {
    return (this[kind] as Entity[]).find((e) => e.id === idOrName || (kind !== 'plugins' && (e as AdminService).name === idOrName)) as
      KongEntityStore[K][number] | undefined;
  }

  mustFind<K extends Kind>(kind: K, idOrName: string): KongEntityStore[K][number] {
    const found = this.find(kind, idOrName);
    if (!found) throw new AdminProblem(404, { code: 6, name: 'not found', message: 'Not found' });
    return found;
  }

  /** Creates (no `existing`) or replaces an entity from a request body, Kong defaults filled in. */
  save(kind: Kind, body: Record<string, unknown>, existing: Entity | undefined): Entity {
    const now = Math.floor(Date.now() / 1000);
    const find = (k: 'services' | 'routes', key: string) => this.find(k, key);
    const built = kind === 'services' ? buildService(body) : kind === 'routes' ? buildRoute(body, find) : buildPlugin(body, find);
    const id = existing?.id ?? (typeof body.id === 'string' ? body.id : randomUUID());
    const entity = { ...built, id, created_at: (existing as { created_at?: number } | undefined)?.created_at ?? now, updated_at: now } as unknown as Entity;
    this.checkUnique(kind, entity);
    const list = this[kind] as Entity[];
    if (existing) list.splice(list.indexOf(existing), 1, entity);
    else list.push(entity);
    return entity;
  }

  remove(kind: Kind, entity: Entity): void {
    if (kind === 'services' && this.routes.some((r) => r.service?.id === entity.id)) {
      throw new AdminProblem(400, { code: 4, name: 'foreign key violation', message: "an existing 'routes' entity references this 'services' entity" });
    }
    (this[kind] as Entity[]).splice((this[kind] as Entity[]).indexOf(entity), 1);
    // Kong deletes a route's or service's plugins with it (on_delete = cascade).
    this.plugins = this.plugins.filter((p) => p.route?.id !== entity.id && p.service?.id !== entity.id);
  }

  private checkUnique(kind: Kind, entity: Entity): void {
    const clash = (this[kind] as Entity[]).find((other) => {
      if (other.id === entity.id) return false;
      if (kind !== 'plugins') return (other as AdminService).name !== null && (other as AdminService).name === (entity as AdminService).name;
      const [a, b] = [other as AdminPlugin, entity as AdminPlugin];
      return a.name === b.name && a.route?.id === b.route?.id && a.service?.id === b.service?.id && a.consumer?.id === b.consumer?.id;
    });
    if (clash) throw new AdminProblem(409, { code: 5, name: 'unique constraint violation', message: `UNIQUE violation detected on '${kind}'` });
  }
}

/** One page of a list, Kong style: `size` (default 100, at most `maxPage`), an opaque `offset`, and `next`. */
export function page<T>(items: T[], query: { size?: unknown; offset?: unknown }, path: string, maxPage: number) {
  const size = Math.min(Math.max(Number(query.size ?? 100) || 100, 1), maxPage);
  const start = typeof query.offset === 'string' ? Number(Buffer.from(query.offset, 'base64url').toString()) || 0 : 0;
  const data = items.slice(start, start + size);
  if (start + size >= items.length) return { data, next: null };
  const offset = Buffer.from(String(start + size)).toString('base64url');
  return { data, next: `/${path}?offset=${offset}&size=${size}`, offset };
}

function buildService(body: Record<string, unknown>): AdminService & Record<string, unknown> {
  let parts = { protocol: body.protocol ?? 'http', host: body.host, port: body.port, path: body.path ?? null };
  if (typeof body.url === 'string') {
    const url = new URL(body.url);
    parts = {
      protocol: url.protocol.slice(0, -1),
      host: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname === '/' && !body.url.endsWith('/') ? null : url.pathname,
    };
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

function buildPlugin(
  body: Record<string, unknown>,
  find: (kind: 'services' | 'routes', key: string) => Entity | undefined,
): AdminPlugin & Record<string, unknown> {
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
