import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKongAdminStandIn, type KongAdminStandIn } from './admin-stand-in';
import { planCutover } from './cutover';
import { cutoverOptions, previousRouting } from './fixtures.test-helpers';
import { createKongGateway } from './gateway';
import { normalizeKongConfig } from './normalize';
import { IntegrationError } from '../errors';
import type { KongConfig } from './types';

const writes = (standIn: KongAdminStandIn) => standIn.calls.filter((c) => c.method !== 'GET');

describe('Kong Admin API mode against the stand-in over HTTP', () => {
  let kong: KongAdminStandIn;
  beforeEach(async () => {
    // Pages of 2 so that every snapshot has to follow `next`.
    kong = await startKongAdminStandIn({ initial: previousRouting, maxPageSize: 2 });
  });
  afterEach(() => kong.close());

  it('snapshot, plan, apply: the gateway then holds exactly the plan; a rollback restores the snapshot exactly', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    const previous = await gateway.snapshot();
    expect(previous).toEqual(normalizeKongConfig(previousRouting));

    const plan = planCutover(previous, cutoverOptions);
    await gateway.apply(plan);
    expect(await gateway.snapshot()).toEqual(plan);
    expect(kong.current()).toEqual(plan);

    await gateway.apply(previous);
    expect(await gateway.snapshot()).toEqual(previous);
  });

  it('applying the same plan twice makes no second write', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    const plan = planCutover(await gateway.snapshot(), cutoverOptions);
    await gateway.apply(plan);
    const after = writes(kong).length;
    await gateway.apply(plan);
    expect(writes(kong).length).toBe(after);
    expect(after).toBeGreaterThan(0);
  });

  it('keeps the fields it does not model on a route it moves, through cutover and rollback', async () => {
    const patch = await fetch(`${kong.url}/routes/dc-virtual-care`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hosts: ['api.example.org'], preserve_host: true }),
    });
    expect(patch.status).toBe(200);
    const gateway = createKongGateway({ adminUrl: kong.url });
    const previous = await gateway.snapshot();
    await gateway.apply(planCutover(previous, cutoverOptions));
    const moved = (await (await fetch(`${kong.url}/routes/dc-virtual-care`)).json()) as Record<string, unknown>;
    expect([moved.hosts, moved.preserve_host, moved.strip_path]).toEqual([['api.example.org'], true, false]);
    await gateway.apply(previous);
    const back = (await (await fetch(`${kong.url}/routes/dc-virtual-care`)).json()) as Record<string, unknown>;
    expect([back.hosts, back.preserve_host, back.strip_path]).toEqual([['api.example.org'], true, true]);
  });

  it('never deletes what the cutover did not create', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    const before = await gateway.snapshot();
    await gateway.apply({ _format_version: '3.0', services: [] });
    expect(await gateway.snapshot()).toEqual(before);
    expect(writes(kong)).toEqual([]);
  });

  it('creates the redirect plugin with Kong Admin API shapes', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    await gateway.apply(planCutover(await gateway.snapshot(), cutoverOptions));
    const route = (await (await fetch(`${kong.url}/routes/dc-virtual-sessions`)).json()) as { id: string };
    const plugins = (await (await fetch(`${kong.url}/routes/dc-virtual-sessions/plugins`)).json()) as { data: Array<Record<string, unknown>>; next: null };
    expect(plugins.next).toBeNull();
    expect(plugins.data.map((p) => [p.name, p.route, p.service, p.tags])).toEqual([
      ['rate-limiting', { id: route.id }, null, null],
      ['pre-function', { id: route.id }, null, ['virtual-care-cutover']],
    ]);
    const service = (await (await fetch(`${kong.url}/services/virtual-care-service`)).json()) as Record<string, unknown>;
    expect([service.protocol, service.host, service.port, service.path]).toEqual(['http', 'virtual-care-service.internal', 8080, null]);
  });

  it('reports an Admin API outage as a retryable IntegrationError of system kong after its retries', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url, retries: 1, retryBaseMs: 1 });
    kong.setDown(true);
    const error = await gateway.snapshot().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect(error).toMatchObject({ system: 'kong', status: 503, retryable: true });
    expect((error as Error).message).toMatch(/^listing (services|routes|plugins): Kong Admin API answered 503 \(unavailable\)$/);
  });

  it('carries Kong’s own message when it refuses a change', async () => {
    const gateway = createKongGateway({ adminUrl: kong.url });
    const bad: KongConfig = {
      _format_version: '3.0',
      services: [{ name: 'x', url: 'http://x', routes: [{ name: 'r', paths: ['/x'], plugins: [{ name: 'not-a-plugin' }] }] }],
    };
    await expect(gateway.apply(bad)).rejects.toThrow(
      new IntegrationError(
        "plugin not-a-plugin on route:r: Kong Admin API answered 400 (schema violation (name: plugin 'not-a-plugin' not enabled; add it to the 'plugins' configuration property))",
        {
          system: 'kong',
          status: 400,
          retryable: false,
          detail: "schema violation (name: plugin 'not-a-plugin' not enabled; add it to the 'plugins' configuration property)",
        },
      ),
    );
  });
});

describe('decK file mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vc-kong-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['kong.yaml', 'kong.json'])('%s: plan applies, a second apply leaves the file byte-identical, rollback restores the routing', async (name) => {
    const file = join(dir, name);
    const gateway = createKongGateway({ file });
    expect(gateway.description).toBe(`file:${file}`);
    await gateway.apply(previousRouting);
    const previous = await gateway.snapshot();
    expect(previous).toEqual(normalizeKongConfig(previousRouting));

    const plan = planCutover(previous, cutoverOptions);
    await gateway.apply(plan);
    expect(await gateway.snapshot()).toEqual(plan);
    const text = readFileSync(file, 'utf8');
    await gateway.apply(plan);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect((parse(text) as { _format_version: unknown })._format_version).toBe('3.0');

    await gateway.apply(previous);
    expect(await gateway.snapshot()).toEqual(previous);
  });

  it('keeps what it does not model in a hand-written decK file', async () => {
    const file = join(dir, 'hand.yaml');
    writeFileSync(
      file,
      [
        '_format_version: "3.0"',
        '_info:',
        '  select_tags: []',
        'consumers:',
        '  - username: billing-batch',
        'services:',
        '  - name: digital-communication',
        '    protocol: http',
        '    host: dc.internal',
        '    port: 8080',
        '    routes:',
        '      - name: dc-virtual-sessions',
        '        paths: [/api/v1/digital-communication/virtual-sessions]',
        '        hosts: [api.example.org]',
        '',
      ].join('\n'),
    );
    const gateway = createKongGateway({ file });
    const previous = await gateway.snapshot();
    expect(previous.services[0]?.url).toBe('http://dc.internal:8080');
    await gateway.apply(planCutover(previous, cutoverOptions));
    const doc = parse(readFileSync(file, 'utf8')) as {
      consumers: unknown;
      _info: unknown;
      services: Array<{ name: string; routes?: Array<Record<string, unknown>> }>;
    };
    expect(doc.consumers).toEqual([{ username: 'billing-batch' }]);
    expect(doc._info).toEqual({ select_tags: [] });
    expect(doc.services.find((s) => s.name === 'digital-communication')?.routes?.[0]?.hosts).toEqual(['api.example.org']);
  });

  it('refuses a file of another format version', async () => {
    const file = join(dir, 'old.yaml');
    writeFileSync(file, '_format_version: "1.1"\nservices: []\n');
    await expect(createKongGateway({ file }).snapshot()).rejects.toThrow(
      new IntegrationError(`reading ${file}: expected _format_version "3.0", found "1.1"`, { system: 'kong', retryable: false }),
    );
  });
});
