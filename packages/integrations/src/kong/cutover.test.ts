import { describe, expect, it } from 'vitest';
import { CutoverPlanError, legacyRedirectLocation, planCutover, redirectLua, type CutoverOptions } from './cutover';
import { diffKongConfig, formatKongDiff } from './diff';
import { cutoverOptions, previousRouting } from './fixtures.test-helpers';
import { normalizeKongConfig } from './normalize';
import { CUTOVER_TAG, type KongConfig } from './types';

const lua = redirectLua([{ from: '/api/v1/digital-communication/virtual-sessions', to: '/api/v1/virtual-care/sessions' }]);
const redirect = { name: 'pre-function', config: { access: [lua] }, tags: [CUTOVER_TAG] };

describe('planCutover', () => {
  it('moves the new prefix to virtual-care-service and makes the legacy virtual-session route answer 301', () => {
    expect(planCutover(previousRouting, cutoverOptions)).toEqual({
      _format_version: '3.0',
      services: [
        {
          name: 'digital-communication',
          url: 'http://digital-communication.internal:8080',
          tags: ['legacy'],
          routes: [
            { name: 'dc-messages', paths: ['/api/v1/digital-communication/messages'], strip_path: true },
            {
              name: 'dc-virtual-sessions',
              paths: ['/api/v1/digital-communication/virtual-sessions'],
              methods: ['GET', 'POST'],
              strip_path: true,
              plugins: [redirect, { name: 'rate-limiting', config: { minute: 600, policy: 'local' } }],
            },
          ],
          plugins: [{ name: 'correlation-id', config: { header_name: 'X-Request-Id' } }],
        },
        { name: 'patient-portal', url: 'https://portal.internal', routes: [{ name: 'portal', paths: ['/api/v1/portal'], strip_path: false }] },
        {
          name: 'virtual-care-service',
          url: 'http://virtual-care-service.internal:8080',
          tags: [CUTOVER_TAG],
          routes: [{ name: 'dc-virtual-care', paths: ['/api/v1/virtual-care'], strip_path: false }],
        },
      ],
    });
  });

  it('planning an already planned routing gives it back unchanged', () => {
    const planned = planCutover(previousRouting, cutoverOptions);
    expect(planCutover(planned, cutoverOptions)).toEqual(planned);
    expect(diffKongConfig(planned, planCutover(planned, cutoverOptions))).toEqual([]);
  });

  it('adds its own route for the prefix and a redirect route per legacy prefix no route claims', () => {
    const previous: KongConfig = {
      _format_version: '3.0',
      services: [
        {
          name: 'digital-communication',
          url: 'http://dc:8080',
          routes: [
            { name: 'dc-all', paths: ['/api/v1/digital-communication'] },
            { name: 'dc-upcoming', paths: ['/api/v1/digital-communication/virtual-sessions/upcoming'] },
          ],
        },
      ],
    };
    const planned = planCutover(previous, { ...cutoverOptions, serviceName: 'vc' });
    expect(planned.services.map((s) => [s.name, (s.routes ?? []).map((r) => [r.name, r.paths, r.plugins?.map((p) => p.name) ?? []])])).toEqual([
      [
        'digital-communication',
        [
          ['dc-all', ['/api/v1/digital-communication'], []],
          ['dc-upcoming', ['/api/v1/digital-communication/virtual-sessions/upcoming'], ['pre-function']],
          ['vc-redirect-api-v1-digital-communication-virtual-sessions', ['/api/v1/digital-communication/virtual-sessions'], ['pre-function']],
        ],
      ],
      ['vc', [['virtual-care-api', ['/api/v1/virtual-care'], []]]],
    ]);
    expect(planned.services[1]?.routes?.[0]).toEqual({ name: 'virtual-care-api', paths: ['/api/v1/virtual-care'], strip_path: false, tags: [CUTOVER_TAG] });
  });

  it.each([
    [
      'the legacy service is missing',
      { ...cutoverOptions, legacyServiceName: 'nope' },
      previousRouting,
      'legacyServiceName: expected a Kong service named "nope" in the current routing, found none',
    ],
    [
      'the prefix has a trailing slash',
      { ...cutoverOptions, newPathPrefix: '/api/v1/virtual-care/' },
      previousRouting,
      'newPathPrefix: expected a path like /api/v1/virtual-care (no trailing slash), got "/api/v1/virtual-care/"',
    ],
    [
      'a redirect path could break out of the Lua string',
      { ...cutoverOptions, legacyRedirects: [{ from: '/a"..os.exit()', to: '/b' }] },
      previousRouting,
      'legacyRedirects[0].from: expected a path like /api/v1/virtual-care (no trailing slash), got "/a"..os.exit()"',
    ],
    [
      'the service URL is not a URL',
      { ...cutoverOptions, serviceUrl: 'virtual-care:8080/x y' },
      previousRouting,
      'serviceUrl: expected an absolute http(s) URL, got "virtual-care:8080/x y"',
    ],
    [
      'a route mixes paths under the prefix and outside it',
      cutoverOptions,
      {
        _format_version: '3.0',
        services: [{ name: 'digital-communication', url: 'http://dc', routes: [{ name: 'mixed', paths: ['/api/v1/virtual-care', '/other'] }] }],
      },
      'route "mixed": expected its paths to be all under /api/v1/virtual-care or none, found a mix',
    ],
    [
      'a legacy route already has a pre-function of its own',
      cutoverOptions,
      {
        _format_version: '3.0',
        services: [
          {
            name: 'digital-communication',
            url: 'http://dc',
            routes: [{ name: 'vs', paths: ['/api/v1/digital-communication/virtual-sessions'], plugins: [{ name: 'pre-function' }] }],
          },
        ],
      },
      'route "vs": expected no pre-function plugin of its own (Kong allows one per route), found one',
    ],
  ] as const)('refuses to plan when %s', (_name, opts, previous, message) => {
    expect(() => planCutover(previous as KongConfig, opts as CutoverOptions)).toThrow(new CutoverPlanError(message));
  });

  it('does not change its input', () => {
    const copy = structuredClone(previousRouting);
    planCutover(previousRouting, cutoverOptions);
    expect(previousRouting).toEqual(copy);
  });
});

describe('legacy redirect Location', () => {
  const redirects = [
    { from: '/api/v1/digital-communication/virtual-sessions', to: '/api/v1/virtual-care/sessions' },
    { from: '/api/v1/digital-communication/virtual-sessions/config', to: '/api/v1/virtual-care/config' },
  ];
  it.each([
    ['/api/v1/digital-communication/virtual-sessions', '', '/api/v1/virtual-care/sessions'],
    ['/api/v1/digital-communication/virtual-sessions/42/join', 'lang=en', '/api/v1/virtual-care/sessions/42/join?lang=en'],
    ['/api/v1/digital-communication/virtual-sessions/config/test', '', '/api/v1/virtual-care/config/test'],
    ['/api/v1/digital-communication/virtual-sessionsX', '', undefined],
    ['/api/v1/digital-communication/messages', '', undefined],
  ])('%s?%s → %s', (path, query, location) => {
    expect(legacyRedirectLocation(redirects, path, query)).toBe(location);
  });

  it('is what the pre-function Lua does: longest prefix first, 301, query kept', () => {
    const source = redirectLua(redirects);
    expect(source.indexOf('/virtual-sessions/config"')).toBeLessThan(source.indexOf('/virtual-sessions", '));
    expect(source).toContain('return kong.response.exit(301, nil, { ["Location"] = location })');
    expect(source).toContain('if query ~= "" then location = location .. "?" .. query end');
  });
});

describe('diffKongConfig', () => {
  it('reads as the plan an operator approves', () => {
    expect(formatKongDiff(diffKongConfig(previousRouting, planCutover(previousRouting, cutoverOptions)))).toBe(
      [
        '+ service virtual-care-service: url http://virtual-care-service.internal:8080, tags',
        '~ route dc-virtual-care: service, strip_path → service virtual-care-service; paths /api/v1/virtual-care; strip_path false',
        '+ plugin pre-function on route:dc-virtual-sessions',
      ].join('\n'),
    );
  });

  it('rolling back deletes only what the cutover tagged and moves the route home', () => {
    const planned = planCutover(previousRouting, cutoverOptions);
    expect(formatKongDiff(diffKongConfig(planned, previousRouting))).toBe(
      [
        '~ route dc-virtual-care: service, strip_path → service digital-communication; paths /api/v1/virtual-care; strip_path true',
        '- plugin pre-function on route:dc-virtual-sessions',
        '- service virtual-care-service',
      ].join('\n'),
    );
  });

  it('says so when nothing changes', () => {
    expect(formatKongDiff(diffKongConfig(previousRouting, normalizeKongConfig(previousRouting)))).toBe('no change');
  });
});
