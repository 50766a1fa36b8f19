import { planCutover, redactKongSecrets, type KongConfig } from '@vc/integrations/kong';
import { describe, expect, it } from 'vitest';
import { guardEvidenceFile } from './pack';

/** A routing as S4 snapshots it: legacy and another team's service, then the cutover's plan of it (Lua redirect included). */
const before: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      tags: ['legacy'],
      plugins: [{ name: 'correlation-id', config: { header_name: 'X-Request-Id' } }],
      routes: [
        { name: 'dc-virtual-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'], methods: ['POST', 'GET'] },
        { name: 'dc-virtual-care', paths: ['/api/v1/virtual-care'], strip_path: true },
      ],
    },
    { name: 'patient-portal', url: 'https://portal.internal:443/', routes: [{ name: 'portal', paths: ['/api/v1/portal'] }] },
  ],
};
const after = planCutover(before, {
  serviceUrl: 'http://virtual-care-service.internal:8080',
  newPathPrefix: '/api/v1/virtual-care',
  legacyServiceName: 'digital-communication',
});

/** The Kong file as the pack writes it, with Kong's own entity ids and timestamps as the Admin API returns them. */
function snapshot(routing: unknown): string {
  return `${JSON.stringify({ tenant: 'acme', cutoverAt: '2026-12-02T18:26:59.123Z', routing, ids: ['3f0b7c2e-9a41-4d7e-8a55-1c2d3e4f5a6b'], created_at: 1733140000 }, null, 2)}\n`;
}

/** `after` with `value` as a tag of the new service: where a hand edit would put it. */
function withTag(value: string): KongConfig {
  const copy = structuredClone(after);
  copy.services.find((s) => s.name === 'virtual-care-service')!.tags!.push(value);
  return copy;
}

describe('the PHI guard over the Kong snapshots of an evidence pack', () => {
  it.each([
    ['the routing before cutover', before],
    ['the routing after cutover (Lua 301 redirect included)', after],
  ])('lets %s through: upstream URLs, entity UUIDs, route paths, long kebab-case names', (_name, routing) => {
    const text = snapshot(routing);
    expect(guardEvidenceFile('kong-after.json', text, true)).toBe(text);
  });

  it('the same file outside the Kong snapshots is refused (URLs and route paths pass only there)', () => {
    expect(() => guardEvidenceFile('fingerprints.json', snapshot(after))).toThrow(/evidence refused: fingerprints\.json/);
  });

  it.each([
    ['an e-mail address', 'jane.doe@example.org', 'an e-mail address'],
    ['credentials in an upstream URL', 'http://admin:hunter2@kong-admin.internal:8001', 'an e-mail address'],
    ["a person's name", 'Jane Doe', "a person's name"],
    ["a person's name with an initial", 'owner: Maria J. Lopez', "a person's name"],
    ['a phone number', '+1 555-123-4567', 'a phone number'],
    ['a phone number with an area code in brackets', '(555) 123-4567', 'a phone number'],
    ['a European phone number', '+49 30 1234 5678', 'a phone number'],
  ])('refuses a Kong snapshot holding %s, naming the file and never the value', (_name, value, what) => {
    let message = '';
    try {
      guardEvidenceFile('kong-after.json', snapshot(withTag(value)), true);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^evidence refused: kong-after\.json would carry what looks like PHI or a secret/);
    expect(message).toContain(what);
    expect(message).not.toContain(value);
  });
});

/**
 * Plugin configs may hold credentials (a Redis password, an upstream Authorization header, an API key a
 * request-transformer adds), most far shorter than the 32 characters the key pattern catches: the pack
 * writes them redacted (collect.ts) and the guard refuses a Kong file whose plugin configs are not.
 */
const kongFile = (plugin: unknown) =>
  `${JSON.stringify(
    {
      tenant: 'acme',
      cutoverAt: '2026-12-02T18:26:59.123Z',
      routing: {
        _format_version: '3.0',
        services: [
          {
            name: 'digital-communication',
            url: 'http://digital-communication.internal:8080',
            plugins: [plugin],
            routes: [{ name: 'dc-virtual-sessions', paths: ['/api/v1/digital-communication/virtual-sessions'] }],
          },
        ],
      },
    },
    null,
    2,
  )}\n`;

describe('plugin credentials in the Kong snapshots of an evidence pack', () => {
  it.each([
    [
      'rate-limiting with a Redis password',
      { name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_host: 'redis.internal', redis_password: 'hunter2-Redis!' } },
    ],
    [
      'http-log with a Basic Authorization header',
      { name: 'http-log', config: { http_endpoint: 'http://siem.internal:9000/ingest', headers: { Authorization: 'Basic YWRtaW46aHVudGVyMg==' } } },
    ],
    ['request-transformer adding an API key header upstream', { name: 'request-transformer', config: { add: { headers: ['X-Api-Key:sk_live_4f9a2b7c1d'] } } }],
  ])('%s: refused (or kept out), never written', (_name, plugin) => {
    const text = kongFile(plugin);
    let written: string | undefined;
    try {
      written = guardEvidenceFile('kong-before.json', text, true);
    } catch {
      written = undefined;
    }
    expect(written ?? '').not.toMatch(/hunter2|YWRtaW46aHVudGVyMg|sk_live_/);
  });

  it('the redacted copy the pack writes passes, with the settings and none of the credentials', () => {
    const plugins = [
      { name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_host: 'redis.internal', redis_password: 'hunter2-Redis!' } },
      { name: 'http-log', config: { http_endpoint: 'http://siem.internal:9000/ingest', headers: { Authorization: 'Basic YWRtaW46aHVudGVyMg==' } } },
      { name: 'request-transformer', config: { add: { headers: ['X-Api-Key:sk_live_4f9a2b7c1d'] } } },
    ];
    // As collect.ts gives the snapshot to the pack: the whole routing through the redactor.
    const redacted = (plugin: unknown) => `${JSON.stringify(redactKongSecrets(JSON.parse(kongFile(plugin)) as unknown), null, 2)}\n`;
    for (const plugin of plugins) {
      const text = redacted(plugin);
      expect(guardEvidenceFile('kong-before.json', text, true)).toBe(text);
      expect(text).not.toMatch(/hunter2|YWRtaW46aHVudGVyMg|sk_live_/);
    }
    expect(redacted(plugins[0])).toContain('"minute": 600');
  });
});
