import { describe, expect, it } from 'vitest';
import { allowedMethods } from './route-match';
import { defineRoute, type Route, type RouteGroup } from './route-table';

const route = (method: Route['method'], path: string): Route =>
  defineRoute({
    operationId: `${method} ${path}`,
    method,
    path,
    tag: 'sessions',
    summary: path,
    roles: 'public',
    replies: {},
    handle: () => ({ status: 204 }),
  });

const groups: RouteGroup[] = [
  { mount: '', routes: [route('get', '/healthz')] },
  { mount: '/api', routes: [route('get', '/sessions'), route('post', '/sessions'), route('get', '/sessions/:id'), route('post', '/sessions/:id/join')] },
];

describe('allowedMethods(…).allows', () => {
  const methods = allowedMethods(groups);

  it('says yes exactly where the Allow list names the method', () => {
    const cases: Array<[string, string]> = [
      ['/api/sessions/s-1', 'GET'],
      ['/api/sessions/s-1', 'HEAD'],
      ['/api/sessions/s-1', 'POST'],
      ['/api/sessions/s-1', 'DELETE'],
      ['/api/sessions/s-1/join', 'POST'],
      ['/api/sessions/s-1/join', 'GET'],
      ['/api/sessions', 'POST'],
      ['/api/sessions/', 'GET'],
      ['/API/Sessions/s-1', 'GET'],
      ['/healthz', 'GET'],
      ['/healthz', 'PUT'],
      ['/api/nowhere', 'GET'],
    ];
    for (const [path, method] of cases)
      expect({ path, method, allows: methods.allows(path, method) }).toEqual({ path, method, allows: methods(path).includes(method) });
  });

  it('reads the path before the query, as the Allow list is asked for it', () => {
    expect(methods.allows('/api/sessions/s-1?expand=participants', 'GET')).toBe(true);
    expect(methods.allows('/api/sessions/s-1/join?x=1', 'POST')).toBe(true);
    expect(methods.allows('/api/sessions/s-1?x=/join', 'POST')).toBe(false);
  });

  it('answers HEAD with a GET route and nothing else', () => {
    expect(methods.allows('/api/sessions/s-1', 'HEAD')).toBe(true);
    expect(methods.allows('/api/sessions/s-1/join', 'HEAD')).toBe(false);
  });
});
