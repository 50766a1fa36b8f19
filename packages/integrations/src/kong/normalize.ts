import type { KongConfig, KongPlugin, KongRoute, KongService } from './types';

/**
 * The canonical form every snapshot and plan is given, so that two configs describing the same routing are
 * deep-equal: entities sorted by name, tags sorted, Kong's defaults written out (`strip_path: true`), URLs
 * without default ports, empty lists omitted.
 */
export function normalizeKongConfig(config: KongConfig): KongConfig {
  return { _format_version: '3.0', services: byName(config.services.map(normalizeService)) };
}

function normalizeService(service: KongService): KongService {
  return {
    name: service.name,
    url: canonicalServiceUrl(service.url),
    ...list('tags', sortedTags(service.tags)),
    ...list('routes', byName((service.routes ?? []).map(normalizeRoute))),
    ...list('plugins', byName((service.plugins ?? []).map(normalizePlugin))),
  };
}

function normalizeRoute(route: KongRoute): KongRoute {
  return {
    name: route.name,
    paths: [...route.paths],
    ...list('methods', route.methods ? [...route.methods].map((m) => m.toUpperCase()).sort() : []),
    strip_path: route.strip_path ?? true,
    ...list('tags', sortedTags(route.tags)),
    ...list('plugins', byName((route.plugins ?? []).map(normalizePlugin))),
  };
}

function normalizePlugin(plugin: KongPlugin): KongPlugin {
  return {
    name: plugin.name,
    ...(plugin.config !== undefined ? { config: structuredClone(plugin.config) } : {}),
    ...(plugin.enabled === false ? { enabled: false } : {}),
    ...list('tags', sortedTags(plugin.tags)),
  };
}

/** `http://svc:80/` and `http://svc` are one upstream: URLs compare after this. */
export function canonicalServiceUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new Error(`Kong service url: expected an absolute URL like http://host:port/path, got "${url}"`, { cause });
  }
  const path = parsed.pathname === '/' ? '' : parsed.pathname;
  return `${parsed.protocol}//${parsed.host}${path}`;
}

/** Sorted copy without duplicates; undefined and [] are the same. */
export function sortedTags(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function list<K extends string, T>(key: K, items: T[]): { [P in K]?: T[] } {
  return (items.length > 0 ? { [key]: items } : {}) as { [P in K]?: T[] };
}
