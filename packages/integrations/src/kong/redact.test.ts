import { describe, expect, it } from 'vitest';
import { planCutover } from './cutover';
import { kongSecretLeak, REDACTED, redactKongSecrets } from './redact';
import type { KongConfig } from './types';

/** A routing whose plugins hold credentials the way real ones do, beside settings that are harmless. */
const routing: KongConfig = {
  _format_version: '3.0',
  services: [
    {
      name: 'digital-communication',
      url: 'http://digital-communication.internal:8080',
      plugins: [
        { name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_host: 'redis.internal', redis_password: 'hunter2-Redis!' } },
        { name: 'http-log', config: { http_endpoint: 'http://siem.internal:9000/ingest', headers: { Authorization: 'Basic YWRtaW46aHVudGVyMg==' } } },
        { name: 'correlation-id', config: { header_name: 'X-Request-Id', generator: 'uuid#counter', echo_downstream: false } },
      ],
      routes: [
        {
          name: 'dc-virtual-sessions',
          paths: ['/api/v1/digital-communication/virtual-sessions'],
          plugins: [{ name: 'request-transformer', config: { add: { headers: ['X-Api-Key:sk_live_4f9a2b7c1d'] } }, tags: ['partner'] }],
        },
      ],
    },
  ],
};
const secrets = /hunter2|YWRtaW46aHVudGVyMg|sk_live_|redis\.internal|siem\.internal/;

describe('redactKongSecrets: a routing copy fit to leave the migration database', () => {
  it('redacts every plugin config value not known to be a setting, and keeps the settings', () => {
    const redacted = redactKongSecrets(routing);
    expect(JSON.stringify(redacted)).not.toMatch(secrets);
    const [rateLimiting, httpLog, correlationId] = redacted.services[0]!.plugins!;
    expect(rateLimiting!.config).toEqual({ minute: 600, policy: 'redis', redis_host: REDACTED, redis_password: REDACTED });
    expect(httpLog!.config).toEqual({ http_endpoint: REDACTED, headers: REDACTED });
    expect(correlationId!.config).toEqual({ header_name: 'X-Request-Id', generator: 'uuid#counter', echo_downstream: false });
    expect(redacted.services[0]!.routes![0]!.plugins).toEqual([{ name: 'request-transformer', config: { add: REDACTED }, tags: ['partner'] }]);
    // The stored snapshot is left as it was: rollback restores it to Kong.
    expect(JSON.stringify(routing)).toMatch(/hunter2/);
  });

  it('redacts credential-named fields and credential strings outside plugin configs too', () => {
    const copy = structuredClone(routing) as unknown as { services: Array<Record<string, unknown>> };
    copy.services[0]!.url = 'http://digital-communication.internal:8080/?api_key=abc123';
    copy.services[0]!.headers = { 'x-api-key': ['sk_live_4f9a2b7c1d'] };
    copy.services[0]!.tags = ['Bearer abcdefgh12345'];
    const redacted = redactKongSecrets(copy);
    expect(redacted.services[0]).toMatchObject({ url: REDACTED, headers: { 'x-api-key': REDACTED }, tags: [REDACTED] });
  });

  it("keeps the cutover's own redirect (paths only) and redacts any other pre-function", () => {
    const after = planCutover(routing, {
      serviceUrl: 'http://virtual-care-service.internal:8080',
      newPathPrefix: '/api/v1/virtual-care',
      legacyServiceName: 'digital-communication',
    });
    const redirectOf = (config: KongConfig) =>
      config.services
        .flatMap((s) => s.routes ?? [])
        .flatMap((r) => r.plugins ?? [])
        .find((p) => p.name === 'pre-function')!;
    expect(redirectOf(redactKongSecrets(after))).toEqual(redirectOf(after));
    const edited = structuredClone(after);
    const lua = redirectOf(edited).config!.access as string[];
    lua[0] = `${lua[0]}\nlocal token = "s3cr3t-value"`;
    expect(redirectOf(redactKongSecrets(edited)).config).toEqual({ access: REDACTED });
    const untagged = structuredClone(after);
    redirectOf(untagged).tags = [];
    expect(redirectOf(redactKongSecrets(untagged)).config).toEqual({ access: REDACTED });
  });

  it('kongSecretLeak names where an unredacted value is (never the value), and nothing in a redacted copy', () => {
    expect(kongSecretLeak(routing)).toBe('services[0].plugins[0].config.redis_host');
    expect(kongSecretLeak(redactKongSecrets(routing))).toBeUndefined();
    expect(kongSecretLeak({ services: [{ 'Jane Doe': 'token=abcdef' }] })).toBe('services[0].…');
  });
});
