import { normalizeKongConfig } from './normalize';
import type { KongConfig, KongPlugin, KongRoute, KongService } from './types';

/** Kong Admin API entity shapes (the fields this adapter reads; Kong returns more). */
export interface AdminService {
  id: string;
  name: string | null;
  protocol: string;
  host: string;
  port: number;
  path: string | null;
  tags: string[] | null;
}
export interface AdminRoute {
  id: string;
  name: string | null;
  paths: string[] | null;
  methods: string[] | null;
  strip_path: boolean;
  tags: string[] | null;
  service: { id: string } | null;
}
export interface AdminPlugin {
  id: string;
  name: string;
  config: Record<string, unknown> | null;
  enabled: boolean;
  tags: string[] | null;
  route: { id: string } | null;
  service: { id: string } | null;
  consumer: { id: string } | null;
}

/** `{ data, next }`: one page of a Kong Admin API list. */
export interface AdminPage<T> {
  data: T[];
  next: string | null;
  offset?: string;
}

/**
 * The routing held by a Kong, as a declarative config. Left out because the config cannot express them and
 * the cutover never touches them: unnamed services and routes, routes without a service, global and consumer plugins.
 */
export function adminToKongConfig(services: AdminService[], routes: AdminRoute[], plugins: AdminPlugin[]): KongConfig {
  const scoped = (match: (p: AdminPlugin) => boolean): KongPlugin[] => plugins.filter((p) => !p.consumer && match(p)).map(toPlugin);
  const result: KongService[] = services
    .filter((s): s is AdminService & { name: string } => !!s.name)
    .map((service) => ({
      name: service.name,
      url: `${service.protocol}://${service.host}:${service.port}${service.path ?? ''}`,
      ...(service.tags?.length ? { tags: service.tags } : {}),
      routes: routes
        .filter((r): r is AdminRoute & { name: string } => !!r.name && r.service?.id === service.id)
        .map((route): KongRoute => ({
          name: route.name,
          paths: route.paths ?? [],
          ...(route.methods?.length ? { methods: route.methods } : {}),
          strip_path: route.strip_path,
          ...(route.tags?.length ? { tags: route.tags } : {}),
          plugins: scoped((p) => p.route?.id === route.id),
        })),
      plugins: scoped((p) => !p.route && p.service?.id === service.id),
    }));
  return normalizeKongConfig({ _format_version: '3.0', services: result });
}

function toPlugin(plugin: AdminPlugin): KongPlugin {
  return {
    name: plugin.name,
    ...(plugin.config ? { config: plugin.config } : {}),
    ...(plugin.enabled === false ? { enabled: false } : {}),
    ...(plugin.tags?.length ? { tags: plugin.tags } : {}),
  };
}
