import { canonicalServiceUrl, normalizeKongConfig, sortedTags } from './normalize';
import { CUTOVER_TAG, type KongConfig, type KongPlugin, type KongRoute, type KongService } from './types';

/** A legacy path prefix and the prefix that now serves it: `{from}/x?y` answers 301 to `{to}/x?y`. */
export interface LegacyRedirect {
  from: string;
  to: string;
}

/** Options of {@link planCutover}. */
export interface CutoverOptions {
  /** The virtual-care-service upstream, e.g. `http://virtual-care-service.internal:8080`. */
  serviceUrl: string;
  /** Its Kong service name. Default {@link VIRTUAL_CARE_SERVICE_NAME}. */
  serviceName?: string;
  /** `/api/v1/virtual-care`: every route under it moves to the new service. */
  newPathPrefix: string;
  /** The legacy digital-communication service in Kong; it must exist in `previous`. */
  legacyServiceName: string;
  /** Which legacy paths moved where. Default: `/api/v1/digital-communication/virtual-sessions` → `{newPathPrefix}/sessions`. */
  legacyRedirects?: LegacyRedirect[];
}

export const VIRTUAL_CARE_SERVICE_NAME = 'virtual-care-service';
/** The route created for `{newPathPrefix}` when no existing route already claims that exact path. */
export const VIRTUAL_CARE_ROUTE_NAME = 'virtual-care-api';
export const LEGACY_VIRTUAL_SESSIONS_PATH = '/api/v1/digital-communication/virtual-sessions';
/**
 * Kong 3.x's bundled serverless plugin. The `redirect` plugin (3.9+) can only send one fixed Location or keep
 * the incoming path whole; the legacy paths must be *re-prefixed*, so a few lines of Lua in the access phase
 * answer the 301 (they use only the PDK, which Kong's default `untrusted_lua = sandbox` allows).
 */
export const REDIRECT_PLUGIN = 'pre-function';

/** A cutover option that cannot be planned; names the option or the Kong entity, and what was expected. */
export class CutoverPlanError extends Error {
  override readonly name = 'CutoverPlanError';
}

/**
 * The routing after the S4 cutover, from the routing before it (pure: no I/O). Routes under `newPathPrefix`
 * move to the new service (created or re-pointed, tagged {@link CUTOVER_TAG}), a `{newPathPrefix}` route is added
 * if none claims it, and every legacy route under a redirected prefix — plus one tagged route per prefix —
 * answers 301 with the re-prefixed Location. Planning an already planned config gives it back unchanged.
 */
export function planCutover(previous: KongConfig, opts: CutoverOptions): KongConfig {
  const prefix = checkedPath('newPathPrefix', opts.newPathPrefix);
  const redirects = (opts.legacyRedirects ?? [{ from: LEGACY_VIRTUAL_SESSIONS_PATH, to: `${prefix}/sessions` }]).map((r, i) => ({
    from: checkedPath(`legacyRedirects[${i}].from`, r.from),
    to: checkedPath(`legacyRedirects[${i}].to`, r.to),
  }));
  const serviceName = opts.serviceName ?? VIRTUAL_CARE_SERVICE_NAME;
  const config = normalizeKongConfig(previous);
  const legacy = config.services.find((s) => s.name === opts.legacyServiceName);
  if (!legacy) throw new CutoverPlanError(`legacyServiceName: expected a Kong service named "${opts.legacyServiceName}" in the current routing, found none`);
  if (serviceName === legacy.name) throw new CutoverPlanError(`serviceName: expected a name other than the legacy service's ("${legacy.name}")`);

  const target = upsertService(config, serviceName, opts.serviceUrl);
  moveRoutesUnder(config, target, prefix);
  if (!target.routes?.some((r) => r.paths.includes(prefix))) {
    addRoute(target, { name: VIRTUAL_CARE_ROUTE_NAME, paths: [prefix], strip_path: false, tags: [CUTOVER_TAG] });
  }
  addRedirects(legacy, redirects);
  return normalizeKongConfig(config);
}

function upsertService(config: KongConfig, name: string, url: string): KongService {
  let service = config.services.find((s) => s.name === name);
  if (!service) {
    service = { name, url: '' };
    config.services.push(service);
  }
  try {
    service.url = canonicalServiceUrl(url);
  } catch (cause) {
    throw new CutoverPlanError(`serviceUrl: expected an absolute http(s) URL, got "${url}"`, { cause });
  }
  if (!/^https?:\/\//.test(service.url)) throw new CutoverPlanError(`serviceUrl: expected an absolute http(s) URL, got "${url}"`);
  service.tags = sortedTags([...(service.tags ?? []), CUTOVER_TAG]);
  return service;
}

function moveRoutesUnder(config: KongConfig, target: KongService, prefix: string): void {
  for (const service of config.services) {
    if (service === target) continue;
    const moving = (service.routes ?? []).filter((route) => {
      const under = route.paths.filter((p) => isUnder(p, prefix));
      if (under.length > 0 && under.length < route.paths.length) {
        throw new CutoverPlanError(`route "${route.name}": expected its paths to be all under ${prefix} or none, found a mix`);
      }
      return under.length > 0;
    });
    service.routes = (service.routes ?? []).filter((r) => !moving.includes(r));
    // The service is mounted at the full prefix (apps/service serves /api/v1/virtual-care/...): Kong must not strip it.
    for (const route of moving) addRoute(target, { ...route, strip_path: false });
  }
}

function addRedirects(legacy: KongService, redirects: LegacyRedirect[]): void {
  const plugin: KongPlugin = { name: REDIRECT_PLUGIN, config: { access: [redirectLua(redirects)] }, tags: [CUTOVER_TAG] };
  for (const { from } of redirects) {
    if (!legacy.routes?.some((r) => r.paths.includes(from))) {
      addRoute(legacy, { name: `vc-redirect${from.replace(/[^A-Za-z0-9]+/g, '-')}`, paths: [from], strip_path: false, tags: [CUTOVER_TAG] });
    }
  }
  for (const route of legacy.routes ?? []) {
    if (!route.paths.some((p) => redirects.some((r) => isUnder(p, r.from)))) continue;
    const existing = route.plugins?.find((p) => p.name === REDIRECT_PLUGIN);
    if (existing && !existing.tags?.includes(CUTOVER_TAG)) {
      throw new CutoverPlanError(`route "${route.name}": expected no ${REDIRECT_PLUGIN} plugin of its own (Kong allows one per route), found one`);
    }
    route.plugins = [...(route.plugins ?? []).filter((p) => p !== existing), structuredClone(plugin)];
  }
}

function addRoute(service: KongService, route: KongRoute): void {
  service.routes = [...(service.routes ?? []).filter((r) => r.name !== route.name), route];
}

/** `/a/b` is under `/a` and under itself; `/ab` is not under `/a`. Regex paths (`~…`) are under nothing. */
function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** A path of plain characters only (see checkedPath). */
const PLAIN_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

function checkedPath(option: string, path: string): string {
  // Interpolated into Lua source below: only plain path characters, so no quoting can break out.
  if (!PLAIN_PATH.test(path)) throw new CutoverPlanError(`${option}: expected a path like /api/v1/virtual-care (no trailing slash), got "${path}"`);
  return path;
}

/**
 * The pre-function access-phase Lua: for the longest matching `from`, 301 to `to` + the rest of the path +
 * the raw query string; a path under no `from` falls through to the legacy upstream.
 */
export function redirectLua(redirects: readonly LegacyRedirect[]): string {
  const moved = [...redirects].sort((a, b) => b.from.length - a.from.length).map((r) => `  { "${r.from}", "${r.to}" },`);
  return [
    '-- virtual-care cutover (S4): legacy virtual-session endpoints moved; answer 301 with the new path.',
    'local moved = {',
    ...moved,
    '}',
    'local path = kong.request.get_path()',
    'for _, m in ipairs(moved) do',
    '  local from, to = m[1], m[2]',
    '  if path == from or path:sub(1, #from + 1) == from .. "/" then',
    '    local location = to .. path:sub(#from + 1)',
    '    local query = kong.request.get_raw_query()',
    '    if query ~= "" then location = location .. "?" .. query end',
    '    return kong.response.exit(301, nil, { ["Location"] = location })',
    '  end',
    'end',
  ].join('\n');
}

/**
 * Whether `plugin` is the redirect {@link planCutover} makes, exactly: the tagged pre-function whose only
 * config is the Lua {@link redirectLua} writes for some plain paths. Such a config carries paths and nothing
 * else; any other pre-function (another team's Lua) can hold anything.
 */
export function isCutoverRedirectPlugin(plugin: { name?: unknown; tags?: unknown; config?: unknown }): boolean {
  if (plugin.name !== REDIRECT_PLUGIN || !Array.isArray(plugin.tags) || !plugin.tags.includes(CUTOVER_TAG)) return false;
  const config = plugin.config as { access?: unknown } | null | undefined;
  if (typeof config !== 'object' || config === null || Object.keys(config).join() !== 'access') return false;
  const access = config.access;
  if (!Array.isArray(access) || access.length !== 1 || typeof access[0] !== 'string') return false;
  const redirects = [...access[0].matchAll(/^ {2}\{ "([^"]*)", "([^"]*)" \},$/gm)].map((m) => ({ from: m[1]!, to: m[2]! }));
  return redirects.length > 0 && redirects.every((r) => PLAIN_PATH.test(r.from) && PLAIN_PATH.test(r.to)) && redirectLua(redirects) === access[0];
}

/** What the Lua above answers as Location for `path` and raw query `query` (the same rule, for tests and docs). */
export function legacyRedirectLocation(redirects: readonly LegacyRedirect[], path: string, query = ''): string | undefined {
  const match = [...redirects].sort((a, b) => b.from.length - a.from.length).find((r) => isUnder(path, r.from));
  if (!match) return undefined;
  return `${match.to}${path.slice(match.from.length)}${query ? `?${query}` : ''}`;
}
