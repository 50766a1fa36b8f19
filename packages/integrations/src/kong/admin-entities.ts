import { z } from 'zod';
import { normalizeKongConfig } from './normalize';
import type { KongConfig, KongPlugin, KongRoute, KongService } from './types';

const ref = z
  .object({ id: z.string() })
  .nullable()
  .optional()
  .transform((v) => v ?? null);
const tags = z
  .array(z.string())
  .nullable()
  .optional()
  .transform((v) => v ?? null);

/** Kong Admin API entity shapes: the fields this adapter reads (Kong returns more; they pass through). */
export const adminServiceSchema = z.looseObject({
  id: z.string(),
  name: z
    .string()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  protocol: z.string(),
  host: z.string(),
  port: z.number().int(),
  path: z
    .string()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  tags,
});
export const adminRouteSchema = z.looseObject({
  id: z.string(),
  name: z
    .string()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  paths: z
    .array(z.string())
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  methods: z
    .array(z.string())
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  strip_path: z
    .boolean()
    .optional()
    .transform((v) => v ?? true),
  tags,
  service: ref,
});
export const adminPluginSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  config: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  enabled: z
    .boolean()
    .optional()
    .transform((v) => v ?? true),
  tags,
  route: ref,
  service: ref,
  consumer: ref,
});
export type AdminService = z.infer<typeof adminServiceSchema>;
export type AdminRoute = z.infer<typeof adminRouteSchema>;
export type AdminPlugin = z.infer<typeof adminPluginSchema>;

/** `{ data, next }`: one page of a Kong Admin API list; `next` is a path from Kong's root, null on the last page. */
export const adminPageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    data: z.array(item),
    next: z
      .string()
      .nullable()
      .optional()
      .transform((v) => v ?? null),
    offset: z.string().optional(),
  });

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
