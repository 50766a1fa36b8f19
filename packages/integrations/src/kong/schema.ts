import { z } from 'zod';
import type { KongConfig, KongPlugin, KongRoute, KongService } from './types';

/**
 * A {@link KongConfig} as stored (the cutover snapshots in PostgreSQL): what reads one back checks it with this
 * before trusting it, so a snapshot that lost its fields is named as corrupt instead of failing deep in a diff.
 */
const tags = z.array(z.string()).optional();

const absoluteUrl = z.string().refine((url) => URL.canParse(url), { message: 'expected an absolute URL like http://host:port/path' });

const pluginSchema: z.ZodType<KongPlugin> = z.object({
  name: z.string().min(1),
  config: z.record(z.string(), z.unknown()).optional(),
  enabled: z.boolean().optional(),
  tags,
});

const routeSchema: z.ZodType<KongRoute> = z.object({
  name: z.string().min(1),
  paths: z.array(z.string()),
  methods: z.array(z.string()).optional(),
  strip_path: z.boolean().optional(),
  tags,
  plugins: z.array(pluginSchema).optional(),
});

const serviceSchema: z.ZodType<KongService> = z.object({
  name: z.string().min(1),
  url: absoluteUrl,
  tags,
  routes: z.array(routeSchema).optional(),
  plugins: z.array(pluginSchema).optional(),
});

export const kongConfigSchema: z.ZodType<KongConfig> = z.object({
  _format_version: z.literal('3.0'),
  services: z.array(serviceSchema),
});

/** `value` as a Kong configuration, or why it is not one (the first few problems, with their paths). */
export function parseKongConfig(value: unknown): { ok: true; config: KongConfig } | { ok: false; problem: string } {
  const parsed = kongConfigSchema.safeParse(value);
  if (parsed.success) return { ok: true, config: parsed.data };
  const problems = parsed.error.issues.slice(0, 3).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  return { ok: false, problem: problems.join('; ') };
}
