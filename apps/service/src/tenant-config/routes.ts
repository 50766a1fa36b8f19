import type { AppContext } from '../context';
import { notFound } from '../errors';
import { defineRoute, type ReplySpec, type Route } from '../http/route-table';
import { configEtag, IF_MATCH_MAX_LENGTH } from './etag';
import { findTenantConfig } from './repo';
import { configReply, connectionTestReply, putConfigBody } from './schemas';
import { configView, putTenantConfig, testTenantConnection } from './use-cases';

const ETAG = { ETag: { description: "the config's entity tag, for `If-Match` on the next PUT", schema: { type: 'string' } } };
const config = (description: string): ReplySpec => ({ description, schema: configReply, headers: ETAG });

/** `/config`: the tenant's Jitsi deployment, billing and branding; admins only. */
export function tenantConfigRoutes(ctx: AppContext): Route[] {
  return [
    defineRoute({
      operationId: 'getConfig',
      method: 'get',
      path: '/config',
      tag: 'config',
      summary: "The tenant's configuration (never the app secret)",
      roles: ['vc:admin'],
      replies: { 200: config('the configuration') },
      errors: ['not_found'],
      async handle({ principal }) {
        const row = await findTenantConfig(ctx.db, principal.tenant);
        if (!row) throw notFound('virtual-care configuration');
        return { status: 200, body: configView(row), headers: { etag: configEtag(row) } };
      },
    }),

    defineRoute({
      operationId: 'putConfig',
      method: 'put',
      path: '/config',
      tag: 'config',
      summary: 'Create or replace the configuration; the app secret is KMS-encrypted',
      description:
        '`If-Match` is optional: without it the PUT replaces whatever is stored (as before); with the `ETag` of a GET or PUT it ' +
        'replaces only that config, else 412, so two admins cannot overwrite each other. `If-Match: *` requires an existing config. ' +
        'The tag also changes when test-connection stores a new result.',
      roles: ['vc:admin'],
      headers: [{ name: 'If-Match', description: 'the ETag last read; `*` = any existing config', schema: { type: 'string', maxLength: IF_MATCH_MAX_LENGTH } }],
      body: putConfigBody,
      replies: { 200: config('the replaced configuration'), 201: config('the configuration, created by this request') },
      errors: ['precondition_failed', 'dependency_unavailable'],
      async handle({ principal, body, header }) {
        const { row, created } = await putTenantConfig(ctx, principal, body, header('if-match'));
        return { status: created ? 201 : 200, body: configView(row), headers: { etag: configEtag(row) } };
      },
    }),

    defineRoute({
      operationId: 'testConnection',
      method: 'post',
      path: '/config/test-connection',
      tag: 'config',
      summary: 'Probe the Jitsi deployment with a minted token; the result is stored on the config',
      roles: ['vc:admin'],
      replies: { 200: { description: 'the verdict and its checks', schema: connectionTestReply } },
      errors: ['not_found', 'dependency_unavailable'],
      async handle({ principal }) {
        return { status: 200, body: await testTenantConnection(ctx, principal) };
      },
    }),
  ];
}
