import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { normalizeKongConfig } from './normalize';
import { reconcileKongConfig, type KongOp, type PluginScope } from './reconcile';
import { IntegrationError } from '../errors';
import type { KongConfig, KongGateway, KongPlugin } from './types';

type RawEntity = Record<string, unknown> & { name?: unknown };
type RawService = RawEntity & { routes?: RawEntity[]; plugins?: RawEntity[] };
type RawDoc = Record<string, unknown> & { _format_version: string; services?: RawService[] };

/**
 * Kong as a decK declarative file (`_format_version: "3.0"`, `deck gateway sync <file>`): YAML for
 * `.yaml`/`.yml`, JSON otherwise. `apply` edits the file in place, keeping whatever it does not model
 * (consumers, upstreams, route hosts, `_info`…), and writes it atomically. A missing file is an empty routing.
 */
export function createFileGateway(file: string): KongGateway {
  const yaml = /\.ya?ml$/i.test(file);
  const read = async (): Promise<RawDoc> => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { _format_version: '3.0', services: [] };
      throw new IntegrationError(`reading ${file}: ${(error as Error).message}`, { system: 'kong', retryable: false, cause: error });
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (cause) {
      throw new IntegrationError(`reading ${file}: expected YAML or JSON`, { system: 'kong', retryable: false, cause });
    }
    const version = (doc as { _format_version?: unknown } | null)?._format_version;
    if (String(version) !== '3.0')
      throw new IntegrationError(`reading ${file}: expected _format_version "3.0", found ${JSON.stringify(version)}`, { system: 'kong', retryable: false });
    return { ...(doc as RawDoc), _format_version: '3.0' };
  };

  return {
    description: `file:${file}`,
    snapshot: async () => rawToKongConfig(await read()),
    async apply(config) {
      const doc = await read();
      for (const op of reconcileKongConfig(rawToKongConfig(doc), config)) applyToRaw(doc, op);
      await mkdir(dirname(file), { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, yaml ? stringify(doc) : `${JSON.stringify(doc, null, 2)}\n`);
      // rename is atomic: decK or an operator never reads a half-written file.
      await rename(temp, file);
    },
  };
}

function rawToKongConfig(doc: RawDoc): KongConfig {
  const services = (doc.services ?? [])
    .filter((s) => typeof s.name === 'string')
    .map((s) => ({
      name: s.name as string,
      url:
        typeof s.url === 'string'
          ? s.url
          : `${String(s.protocol ?? 'http')}://${String(s.host)}:${String(s.port ?? (s.protocol === 'https' ? 443 : 80))}${typeof s.path === 'string' ? s.path : ''}`,
      tags: s.tags as string[] | undefined,
      routes: (s.routes ?? [])
        .filter((r) => typeof r.name === 'string')
        .map((r) => ({
          name: r.name as string,
          paths: (r.paths as string[] | undefined) ?? [],
          methods: r.methods as string[] | undefined,
          strip_path: r.strip_path as boolean | undefined,
          tags: r.tags as string[] | undefined,
          plugins: (r.plugins ?? []) as unknown as KongPlugin[],
        })),
      plugins: (s.plugins ?? []) as unknown as KongPlugin[],
    }));
  return normalizeKongConfig({ _format_version: '3.0', services });
}

/** One operation as an edit of the decK document. */
function applyToRaw(doc: RawDoc, op: KongOp): void {
  const services = (doc.services ??= []);
  const service = (name: string) => services.find((s) => s.name === name);
  const routeOwner = (name: string) => services.find((s) => s.routes?.some((r) => r.name === name));
  const pluginList = (scope: PluginScope): RawEntity[] => {
    const owner = 'route' in scope ? routeOwner(scope.route)?.routes?.find((r) => r.name === scope.route) : service(scope.service);
    if (!owner)
      throw new IntegrationError(`plugin on ${'route' in scope ? `route ${scope.route}` : `service ${scope.service}`}: expected its owner in the file`, {
        system: 'kong',
        retryable: false,
      });
    return ((owner.plugins as RawEntity[] | undefined) ??= []);
  };
  switch (op.op) {
    case 'upsert_service': {
      const existing = service(op.name) ?? (services.push({ name: op.name }), services.at(-1)!);
      for (const field of ['protocol', 'host', 'port', 'path']) delete existing[field];
      Object.assign(existing, { url: op.url }, tagsField(op.tags));
      if (op.tags.length === 0) delete existing.tags;
      return;
    }
    case 'upsert_route': {
      const from = routeOwner(op.route.name);
      let route = from?.routes?.find((r) => r.name === op.route.name) ?? { name: op.route.name };
      if (from?.name !== op.service) {
        if (from) from.routes = from.routes!.filter((r) => r !== route);
        const to = service(op.service)!;
        to.routes = [...(to.routes ?? []), route];
      }
      route = Object.assign(
        route,
        { paths: op.route.paths, strip_path: op.route.strip_path ?? true },
        op.route.methods ? { methods: op.route.methods } : {},
        tagsField(op.route.tags ?? []),
      );
      if (!op.route.methods) delete route.methods;
      if (!op.route.tags?.length) delete route.tags;
      return;
    }
    case 'upsert_plugin': {
      const list = pluginList(op.scope);
      const existing = list.find((p) => p.name === op.plugin.name);
      const plugin: RawEntity = {
        name: op.plugin.name,
        ...(op.plugin.config ? { config: op.plugin.config } : {}),
        ...(op.plugin.enabled === false ? { enabled: false } : {}),
        ...tagsField(op.plugin.tags ?? []),
      };
      if (existing) list.splice(list.indexOf(existing), 1, plugin);
      else list.push(plugin);
      return;
    }
    case 'delete_plugin': {
      const list = pluginList(op.scope);
      list.splice(
        list.findIndex((p) => p.name === op.name),
        1,
      );
      return;
    }
    case 'delete_route': {
      const owner = routeOwner(op.name)!;
      owner.routes = owner.routes!.filter((r) => r.name !== op.name);
      return;
    }
    case 'delete_service':
      doc.services = services.filter((s) => s.name !== op.name);
      return;
  }
}

function tagsField(tags: readonly string[]): { tags?: string[] } {
  return tags.length > 0 ? { tags: [...tags] } : {};
}
