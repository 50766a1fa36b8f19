import { describe, expect, it } from 'vitest';
import { guardEvidenceFile } from './pack';

/**
 * Review: kong-before.json / kong-after.json carry the routing snapshot verbatim, plugin configs included
 * (packages/integrations/src/kong/diff.ts keeps them out of diffs because "they may hold credentials"). The
 * gateway guard lets anything shorter than 32 characters through, so a plugin credential reaches the pack,
 * its tar.gz and report-reading auditors. As the pack writes them (pack.ts: guardEvidenceFile(…, true)).
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

describe('review: plugin credentials in the Kong snapshots of an evidence pack', () => {
  it.each([
    ['rate-limiting with a Redis password', { name: 'rate-limiting', config: { minute: 600, policy: 'redis', redis_host: 'redis.internal', redis_password: 'hunter2-Redis!' } }],
    ['http-log with a Basic Authorization header', { name: 'http-log', config: { http_endpoint: 'http://siem.internal:9000/ingest', headers: { Authorization: 'Basic YWRtaW46aHVudGVyMg==' } } }],
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
});
