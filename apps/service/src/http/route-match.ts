import type { RouteGroup } from './route-table';

/** A route of the table a raw request path belongs to: its full template and its still-encoded params. */
export interface RouteMatch {
  /** With the mount prefix: `/api/v1/virtual-care/sessions/:id`. */
  template: string;
  /** Param values as they appear in the path, not decoded (`%ZZ` stays `%ZZ`). */
  rawParams: Record<string, string>;
}

/** Finds the route of a path; with a method, only a route of that method. */
export type RouteMatcher = (path: string, method?: string) => RouteMatch | undefined;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Matches paths against the route table without Express, for what Express cannot say: the route of a
 * request refused before its router ran (a 401 or 429 still gets a route label) and the param whose
 * percent-escape the router failed to decode (its URIError names no param). Nothing is decoded here, so a
 * bad escape still matches. Like Express' defaults: case-insensitive, an optional trailing slash.
 */
export function routeMatcher(groups: readonly RouteGroup[]): RouteMatcher {
  const compiled = compile(groups);
  return (path, method) => {
    // Express answers HEAD with the GET route.
    const wanted = method?.toUpperCase() === 'HEAD' ? 'GET' : method?.toUpperCase();
    for (const route of compiled) {
      if (wanted !== undefined && route.method !== wanted) continue;
      const found = route.regex.exec(path);
      if (found) return { template: route.template, rawParams: Object.fromEntries(route.names.map((name, i) => [name, found[i + 1]!])) };
    }
    return undefined;
  };
}

/**
 * The methods a raw request path answers, as an `Allow` header lists them; empty for a path no route has.
 * `allows(url, method)`: whether one of them is `method` (HEAD with a GET route), for a URL with its query.
 */
export type AllowedMethods = ((path: string) => readonly string[]) & { allows(url: string, method: string): boolean };

/** Canonical order of `Allow`: the table's methods, HEAD with GET, OPTIONS last. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * What a 405 names in `Allow` (RFC 9110 §15.5.6): every method of the routes matching the path, HEAD where
 * there is GET (Express answers it with the GET route) and OPTIONS (Express' routers answer it for any path
 * they have, listing the methods).
 */
export function allowedMethods(groups: readonly RouteGroup[]): AllowedMethods {
  const compiled = compile(groups);
  const allowed = (path: string): readonly string[] => {
    const methods = new Set<string>();
    for (const route of compiled) {
      if (!route.regex.test(path)) continue;
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
    }
    if (methods.size === 0) return [];
    methods.add('OPTIONS');
    return METHOD_ORDER.filter((m) => methods.has(m));
  };
  const allows = (url: string, method: string): boolean => {
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const wanted = method === 'HEAD' ? 'GET' : method;
    for (const route of compiled) if (route.method === wanted && route.regex.test(path)) return true;
    return false;
  };
  return Object.assign(allowed, { allows });
}

function compile(groups: readonly RouteGroup[]) {
  return groups.flatMap((group) =>
    group.routes.map((route) => {
      const template = `${group.mount}${route.path}`;
      const names: string[] = [];
      const pattern = template
        .split('/')
        .map((segment) => {
          if (!segment.startsWith(':')) return escapeRegExp(segment);
          names.push(segment.slice(1));
          return '([^/]+)';
        })
        .join('/');
      return { method: route.method.toUpperCase(), template, names, regex: new RegExp(`^${pattern}/?$`, 'i') };
    }),
  );
}
