import { Router } from 'express';
import { requireRole } from '../auth/authenticate';
import type { AppContext } from '../context';
import { notFound } from '../errors';
import { parse } from '../http/validate';
import { findTenantConfig } from './repo';
import { putConfigBody } from './schemas';
import { configView, putTenantConfig, testTenantConnection } from './use-cases';

/** `/config`: the tenant's Jitsi deployment, billing and branding; admins only. */
export function tenantConfigRouter(ctx: AppContext): Router {
  const router = Router();

  router.get('/config', async (_req, res) => {
    const principal = requireRole(res, 'vc:admin');
    const config = await findTenantConfig(ctx.db, principal.tenant);
    if (!config) throw notFound('virtual-care configuration');
    res.json(configView(config));
  });

  router.put('/config', async (req, res) => {
    const principal = requireRole(res, 'vc:admin');
    const body = parse(putConfigBody, req.body, 'body');
    const { row, created } = await putTenantConfig(ctx, principal, body);
    res.status(created ? 201 : 200).json(configView(row));
  });

  router.post('/config/test-connection', async (_req, res) => {
    const principal = requireRole(res, 'vc:admin');
    res.json(await testTenantConnection(ctx, principal));
  });

  return router;
}
