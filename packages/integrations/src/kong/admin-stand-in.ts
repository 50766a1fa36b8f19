import express, { type Request, type Response, type Router } from 'express';
import { listenOnLoopback } from '../loopback';
import { adminToKongConfig, type AdminPlugin } from './admin-entities';
import { AdminProblem, isUuid, KongEntityStore, page, schemaViolation, type Entity } from './admin-store';
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

/**
 * Starts a Kong Admin API subset on 127.0.0.1: services, routes and plugins with ids, names and tags; list
 * paging with `size`/`offset` → `{ data, next, offset }`; `POST` create, `PUT /{kind}/{id|name}` upsert (replaces
 * the entity), `PATCH` merge, `DELETE` (204; a service still referenced by routes → 400 foreign key
 * violation; deleting a route or service cascades its plugins); nested `/services/{x}/routes`,
 * `/services/{x}/plugins`, `/routes/{x}/plugins`. Names and plugin (name, route, service, consumer) are unique (409).
 */
export async function startKongAdminStandIn(options: KongAdminStandInOptions = {}): Promise<KongAdminStandIn> {
  const store = new KongEntityStore();
  const calls: KongAdminStandIn['calls'] = [];
  const maxPage = options.maxPageSize ?? 1000;
  let down = false;

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
    router.get('/', (req, res) => void res.json(page(store[kind] as Entity[], req.query, kind, maxPage)));
    router.post('/', (req, res) => void res.status(201).json(store.save(kind, req.body as Record<string, unknown>, undefined)));
    router.get('/:key', (req, res) => void res.json(store.mustFind(kind, req.params.key)));
    router.put('/:key', (req, res) => {
      const key = req.params.key;
      const body = { ...(req.body as Record<string, unknown>) };
      if (kind !== 'plugins' && !isUuid(key)) body.name = key;
      const existing = store.find(kind, key);
      if (!existing && kind === 'plugins' && !isUuid(key)) throw schemaViolation('id: expected a valid UUID');
      res.json(store.save(kind, { ...body, ...(isUuid(key) ? { id: key } : {}) }, existing));
    });
    router.patch('/:key', (req, res) => {
      const existing = store.mustFind(kind, req.params.key);
      const body = req.body as Record<string, unknown>;
      const merged = { ...existing, ...body } as Record<string, unknown>;
      // Kong merges nested records on PATCH, so a partial plugin config keeps the other fields.
      if (kind === 'plugins' && body.config) merged.config = { ...(existing as AdminPlugin).config, ...(body.config as object) };
      if (kind === 'services' && (body.url || body.host)) for (const field of ['protocol', 'port', 'path'] as const) if (!(field in body)) delete merged[field];
      res.json(store.save(kind, merged, existing));
    });
    router.delete('/:key', (req, res) => {
      const existing = store.find(kind, req.params.key);
      if (existing) store.remove(kind, existing);
      res.status(204).end();
    });
    app.use(`/${kind}`, router);
  }

  // Nested collections: what Kong offers under a service or route.
  const nested = (parentKind: 'services' | 'routes', childKind: 'routes' | 'plugins') => {
    const foreignKey = parentKind === 'services' ? 'service' : 'route';
    app.get(`/${parentKind}/:key/${childKind}`, (req, res) => {
      const parent = store.mustFind(parentKind, req.params.key);
      const children = (store[childKind] as Entity[]).filter((c) => (c as unknown as Record<string, { id: string } | null>)[foreignKey]?.id === parent.id);
      res.json(page(children, req.query, `${parentKind}/${req.params.key}/${childKind}`, maxPage));
    });
    app.post(`/${parentKind}/:key/${childKind}`, (req, res) => {
      const parent = store.mustFind(parentKind, req.params.key);
      res.status(201).json(store.save(childKind, { ...(req.body as object), [foreignKey]: { id: parent.id } }, undefined));
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
    const saved = store.save('services', { name: service.name, url: service.url, tags: service.tags ?? null }, undefined);
    for (const plugin of service.plugins ?? []) store.save('plugins', { ...plugin, service: { id: saved.id } }, undefined);
    for (const route of service.routes ?? []) {
      const { plugins, ...fields } = route;
      const savedRoute = store.save('routes', { ...fields, service: { id: saved.id } }, undefined);
      for (const plugin of plugins ?? []) store.save('plugins', { ...plugin, route: { id: savedRoute.id } }, undefined);
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
