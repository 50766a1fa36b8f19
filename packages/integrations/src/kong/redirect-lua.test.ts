import { LuaFactory } from 'wasmoon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyRedirectLocation, redirectLua } from './cutover';

const redirects = [
  { from: '/api/v1/digital-communication/virtual-sessions', to: '/api/v1/virtual-care/sessions' },
  { from: '/api/v1/digital-communication/virtual-sessions/config', to: '/api/v1/virtual-care/config' },
];

type Engine = Awaited<ReturnType<LuaFactory['createEngine']>>;
let lua: Engine;
beforeAll(async () => {
  lua = await new LuaFactory().createEngine();
});
afterAll(() => lua.global.close());

/** Runs the generated pre-function source against a stub of Kong's PDK (only what the sandbox exposes to it). */
async function runPreFunction(path: string, query: string): Promise<{ status: number; location: string } | undefined> {
  let exited: { status: number; location: string } | undefined;
  lua.global.set('kong', {
    request: { get_path: () => path, get_raw_query: () => query },
    response: {
      exit: (status: number, _body: unknown, headers: { Location: string }) => {
        exited = { status, location: headers.Location };
      },
    },
  });
  await lua.doString(redirectLua(redirects));
  return exited;
}

describe('the pre-function Lua run in a Lua VM', () => {
  it.each([
    ['/api/v1/digital-communication/virtual-sessions', ''],
    ['/api/v1/digital-communication/virtual-sessions/42/join', 'lang=en&x=1'],
    ['/api/v1/digital-communication/virtual-sessions/config/test', ''],
    ['/api/v1/digital-communication/virtual-sessionsX', ''],
    ['/api/v1/digital-communication/messages', 'a=b'],
  ])('%s?%s answers as legacyRedirectLocation says', async (path, query) => {
    const location = legacyRedirectLocation(redirects, path, query);
    expect(await runPreFunction(path, query)).toEqual(location === undefined ? undefined : { status: 301, location });
  });

  it('answers 301 to the re-prefixed path with the query kept', async () => {
    expect(await runPreFunction('/api/v1/digital-communication/virtual-sessions/42/join', 'lang=en')).toEqual({
      status: 301,
      location: '/api/v1/virtual-care/sessions/42/join?lang=en',
    });
  });
});
