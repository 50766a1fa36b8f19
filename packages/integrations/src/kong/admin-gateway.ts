import { IntegrationError, isRetryableFrom } from '../errors';
import { checkedBaseUrl, requestJson } from '../http';
import { withRetry } from '../retry';
import { z } from 'zod';
import {
  adminPageSchema,
  adminPluginSchema,
  adminRouteSchema,
  adminServiceSchema,
  adminToKongConfig,
  type AdminPlugin,
  type AdminRoute,
  type AdminService,
} from './admin-entities';
import { reconcileKongConfig, scopeKey, type KongOp, type PluginScope } from './reconcile';
import type { KongGateway } from './types';

/** Options of the Admin API mode of `createKongGateway`. */
export interface KongAdminOptions {
  /** `VC_KONG_ADMIN_URL`, e.g. `http://kong-admin.internal:8001`. */
  adminUrl: string;
  /** Per request. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries of a retryable failure (timeouts, 5xx). Default 3: every write is keyed, so repeating one is safe. */
  retries?: number;
  retryBaseMs?: number;
}

interface Raw {
  services: AdminService[];
  routes: AdminRoute[];
  plugins: AdminPlugin[];
}

/** Kong through its Admin API: snapshot reads every page; apply performs only the operations that differ. */
export function createAdminGateway(options: KongAdminOptions): KongGateway {
  const base = checkedBaseUrl('adminUrl', options.adminUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;

  const call: Call = (method, path, what, body) =>
    withRetry(
      async () => {
        const init = { method, timeoutMs, system: 'kong', what, peer: 'Kong Admin API', explain: kongMessage } as const;
        const payload = body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {};
        return (await requestJson(path.startsWith('http') ? path : `${base}${path}`, { ...init, ...payload })).body;
      },
      { retries: options.retries ?? 3, baseMs: options.retryBaseMs ?? 200, isRetryable: isRetryableFrom('kong') },
    );

  async function list<T extends z.ZodType>(kind: string, item: T): Promise<Array<z.infer<T>>> {
    const items: Array<z.infer<T>> = [];
    // `next` is a path from Kong's root (`/services?offset=…`); it is appended to our base, which may carry a prefix.
    for (let next: string | null = `/${kind}?size=1000`; next;) {
      const page: { data: Array<z.infer<T>>; next: string | null } = parseReply(
        adminPageSchema(item),
        await call('GET', next, `listing ${kind}`),
        `listing ${kind}`,
      );
      items.push(...page.data);
      next = page.next;
    }
    return items;
  }
  const readRaw = async (): Promise<Raw> => {
    const [services, routes, plugins] = await Promise.all([
      list('services', adminServiceSchema),
      list('routes', adminRouteSchema),
      list('plugins', adminPluginSchema),
    ]);
    return { services, routes, plugins };
  };

  return {
    description: `admin:${base}`,
    snapshot: async () => {
      const raw = await readRaw();
      return adminToKongConfig(raw.services, raw.routes, raw.plugins);
    },
    async apply(config) {
      const raw = await readRaw();
      const ops = reconcileKongConfig(adminToKongConfig(raw.services, raw.routes, raw.plugins), config);
      const ids = indexIds(raw);
      for (const op of ops) await execute(op, ids, call);
    },
  };
}

type Call = (method: string, path: string, what: string, body?: unknown) => Promise<unknown>;

const savedSchema = z.looseObject({ id: z.string() });

function parseReply<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrationError(`${what}: expected Kong Admin API shapes, ${issue?.path.join('.') || 'reply'}: ${issue?.message ?? 'invalid'}`, {
      system: 'kong',
      retryable: false,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

interface Ids {
  services: Map<string, string>;
  routes: Map<string, string>;
  plugins: Map<string, string>;
}

function indexIds(raw: Raw): Ids {
  const services = new Map(raw.services.filter((s) => s.name).map((s) => [s.name!, s.id]));
  const routes = new Map(raw.routes.filter((r) => r.name).map((r) => [r.name!, r.id]));
  const serviceName = new Map(raw.services.map((s) => [s.id, s.name]));
  const routeName = new Map(raw.routes.map((r) => [r.id, r.name]));
  const plugins = new Map<string, string>();
  for (const p of raw.plugins) {
    if (p.consumer) continue;
    const scope: PluginScope | undefined = p.route
      ? { route: routeName.get(p.route.id) ?? '' }
      : p.service
        ? { service: serviceName.get(p.service.id) ?? '' }
        : undefined;
    if (scope) plugins.set(`${scopeKey(scope)}/${p.name}`, p.id);
  }
  return { services, routes, plugins };
}

/**
 * One operation as Admin API calls. Existing services and routes are PATCHed, not PUT: a PUT replaces the
 * whole entity and would reset what the config does not model (hosts, timeouts, preserve_host) on routes
 * owned by other teams. Plugins are PUT by id: their config is the whole of what they are.
 */
async function execute(op: KongOp, ids: Ids, call: Call): Promise<void> {
  const enc = encodeURIComponent;
  switch (op.op) {
    case 'upsert_service': {
      const what = `service ${op.name}`;
      const saved = parseReply(savedSchema, await call(op.exists ? 'PATCH' : 'PUT', `/services/${enc(op.name)}`, what, { url: op.url, tags: op.tags }), what);
      ids.services.set(op.name, saved.id);
      return;
    }
    case 'upsert_route': {
      const { route } = op;
      const serviceId = ids.services.get(op.service);
      if (!serviceId) throw new IntegrationError(`route ${route.name}: expected service ${op.service} to exist`, { system: 'kong', retryable: false });
      const body = {
        paths: route.paths,
        methods: route.methods ?? null,
        strip_path: route.strip_path ?? true,
        tags: route.tags ?? [],
        service: { id: serviceId },
      };
      const what = `route ${route.name}`;
      const saved = parseReply(savedSchema, await call(op.exists ? 'PATCH' : 'PUT', `/routes/${enc(route.name)}`, what, body), what);
      ids.routes.set(route.name, saved.id);
      return;
    }
    case 'upsert_plugin': {
      const key = `${scopeKey(op.scope)}/${op.plugin.name}`;
      const what = `plugin ${op.plugin.name} on ${scopeKey(op.scope)}`;
      const owner = 'route' in op.scope ? { route: { id: ids.routes.get(op.scope.route) } } : { service: { id: ids.services.get(op.scope.service) } };
      const body = { name: op.plugin.name, config: op.plugin.config ?? {}, enabled: op.plugin.enabled ?? true, tags: op.plugin.tags ?? [], ...owner };
      const existing = ids.plugins.get(key);
      const reply = await (existing ? call('PUT', `/plugins/${existing}`, what, body) : call('POST', '/plugins', what, body));
      const saved = parseReply(savedSchema, reply, what);
      ids.plugins.set(key, saved.id);
      return;
    }
    case 'delete_plugin': {
      const key = `${scopeKey(op.scope)}/${op.name}`;
      await call('DELETE', `/plugins/${ids.plugins.get(key)}`, `plugin ${op.name} on ${scopeKey(op.scope)}`);
      ids.plugins.delete(key);
      return;
    }
    case 'delete_route':
      await call('DELETE', `/routes/${ids.routes.get(op.name)}`, `route ${op.name}`);
      ids.routes.delete(op.name);
      return;
    case 'delete_service':
      await call('DELETE', `/services/${ids.services.get(op.name)}`, `service ${op.name}`);
      ids.services.delete(op.name);
      return;
  }
}

/** Kong explains a refusal in `message` (schema violations name the field, never a credential). */
function kongMessage(body: unknown): string | undefined {
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : undefined;
}
