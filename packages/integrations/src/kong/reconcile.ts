import { normalizeKongConfig, sortedTags } from './normalize';
import { CUTOVER_TAG, type KongConfig, type KongPlugin, type KongRoute } from './types';

/** Where a plugin hangs: a route or a service, by name. */
export type PluginScope = { route: string } | { service: string };

/**
 * One change that brings a gateway from one config to another. `exists` tells an executor whether to
 * create or update; `fields` names what differs (values stay out: plugin configs may hold credentials).
 */
export type KongOp =
  | { op: 'upsert_service'; name: string; url: string; tags: string[]; exists: boolean; fields: string[] }
  | { op: 'upsert_route'; service: string; route: Omit<KongRoute, 'plugins'>; exists: boolean; fields: string[] }
  | { op: 'upsert_plugin'; scope: PluginScope; plugin: KongPlugin; exists: boolean; fields: string[] }
  | { op: 'delete_plugin'; scope: PluginScope; name: string }
  | { op: 'delete_route'; name: string }
  | { op: 'delete_service'; name: string };

export const scopeKey = (scope: PluginScope) => ('route' in scope ? `route:${scope.route}` : `service:${scope.service}`);
const isOurs = (tags: readonly string[] | undefined) => (tags ?? []).includes(CUTOVER_TAG);

interface Indexed {
  services: Map<string, { url: string; tags: string[] }>;
  routes: Map<string, { service: string; route: KongRoute }>;
  plugins: Map<string, { scope: PluginScope; plugin: KongPlugin }>;
}

function index(config: KongConfig): Indexed {
  const indexed: Indexed = { services: new Map(), routes: new Map(), plugins: new Map() };
  const addPlugins = (scope: PluginScope, plugins: KongPlugin[] | undefined) => {
    for (const plugin of plugins ?? []) indexed.plugins.set(`${scopeKey(scope)}/${plugin.name}`, { scope, plugin });
  };
  for (const service of config.services) {
    indexed.services.set(service.name, { url: service.url, tags: sortedTags(service.tags) });
    addPlugins({ service: service.name }, service.plugins);
    for (const route of service.routes ?? []) {
      indexed.routes.set(route.name, { service: service.name, route });
      addPlugins({ route: route.name }, route.plugins);
    }
  }
  return indexed;
}

/**
 * The operations that make a gateway holding `current` hold `desired`: every entity `desired` names is
 * created or updated where it differs; entities tagged {@link CUTOVER_TAG} that `desired` no longer names are
 * deleted (plugins, then routes, then services, the order Kong's foreign keys need); nothing else is touched.
 * Equal configs give no operation, which is what makes `apply` idempotent.
 */
export function reconcileKongConfig(currentConfig: KongConfig, desiredConfig: KongConfig): KongOp[] {
  const current = index(normalizeKongConfig(currentConfig));
  const desired = index(normalizeKongConfig(desiredConfig));
  const ops: KongOp[] = [];

  for (const [name, want] of desired.services) {
    const have = current.services.get(name);
    const fields = have ? [have.url !== want.url && 'url', !sameList(have.tags, want.tags) && 'tags'].filter(isString) : ['url', 'tags'];
    if (fields.length > 0) ops.push({ op: 'upsert_service', name, url: want.url, tags: want.tags, exists: !!have, fields });
  }
  for (const [name, want] of desired.routes) {
    const have = current.routes.get(name);
    const fields = have ? routeFields(have, want) : ['service', 'paths', 'methods', 'strip_path', 'tags'];
    const { plugins: _plugins, ...route } = want.route;
    if (fields.length > 0) ops.push({ op: 'upsert_route', service: want.service, route, exists: !!have, fields });
  }
  for (const [key, want] of desired.plugins) {
    const have = current.plugins.get(key)?.plugin;
    const fields = have ? pluginFields(have, want.plugin) : ['config', 'enabled', 'tags'];
    if (fields.length > 0) ops.push({ op: 'upsert_plugin', scope: want.scope, plugin: want.plugin, exists: !!have, fields });
  }
  for (const [key, have] of current.plugins) {
    if (!desired.plugins.has(key) && isOurs(have.plugin.tags)) ops.push({ op: 'delete_plugin', scope: have.scope, name: have.plugin.name });
  }
  for (const [name, have] of current.routes) {
    if (!desired.routes.has(name) && isOurs(have.route.tags)) ops.push({ op: 'delete_route', name });
  }
  for (const [name, have] of current.services) {
    if (!desired.services.has(name) && isOurs(have.tags)) ops.push({ op: 'delete_service', name });
  }
  return ops;
}

function routeFields(have: { service: string; route: KongRoute }, want: { service: string; route: KongRoute }): string[] {
  return [
    have.service !== want.service && 'service',
    !sameList(have.route.paths, want.route.paths) && 'paths',
    !sameList(have.route.methods ?? [], want.route.methods ?? []) && 'methods',
    have.route.strip_path !== want.route.strip_path && 'strip_path',
    !sameList(have.route.tags ?? [], want.route.tags ?? []) && 'tags',
  ].filter(isString);
}

function pluginFields(have: KongPlugin, want: KongPlugin): string[] {
  return [
    // A real Kong fills every default into a plugin's config: what we asked for is in force when it is a subset.
    !isSubset(want.config ?? {}, have.config ?? {}) && 'config',
    (have.enabled ?? true) !== (want.enabled ?? true) && 'enabled',
    !sameList(have.tags ?? [], want.tags ?? []) && 'tags',
  ].filter(isString);
}

/** True when every value in `want` is deep-equal in `have` (arrays element by element, same length). */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want).every(([k, v]) => isSubset(v, (have as Record<string, unknown>)[k]));
  }
  return Object.is(want, have);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isString(value: string | false): value is string {
  return value !== false;
}
