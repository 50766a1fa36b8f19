import express from 'express';
import { listenOnLoopback } from '../loopback';
import type { ModuleLicence } from './client';

/** A running licensing API stand-in. */
export interface LicensingStandIn {
  url: string;
  close(): Promise<void>;
  /** While down, every request answers 503. */
  setDown(down: boolean): void;
  /** The next `n` requests answer 503. */
  failNext(n: number): void;
  /** Licences of a tenant, sorted by module. */
  modules(tenantId: string): ModuleLicence[];
}

/** Starts the platform licensing API stand-in on 127.0.0.1 (protocol in README.md beside this file). */
export async function startLicensingStandIn(): Promise<LicensingStandIn> {
  const licences = new Map<string, ModuleLicence>();
  let down = false;
  let failures = 0;
  const key = (tenantId: string, module: string) => `${tenantId}/${module}`;

  const app = express();
  app.use((_req, res, next) => {
    if (failures > 0) failures--;
    else if (!down) return next();
    res.status(503).json({ error: 'unavailable' });
  });
  app.use(express.json({ limit: '16kb' }));

  app.put('/tenants/:tenant/modules/:module', (req, res) => {
    const { tenant, module } = req.params;
    const enabled = (req.body as { enabled?: unknown } | undefined)?.enabled;
    if (typeof enabled !== 'boolean') return void res.status(400).json({ error: 'expected { "enabled": true | false }' });
    const previous = licences.get(key(tenant, module));
    const turnedOn = enabled && !previous?.enabled;
    const licence: ModuleLicence = {
      tenantId: tenant,
      module,
      enabled,
      enabledAt: enabled ? (turnedOn ? new Date().toISOString() : previous!.enabledAt) : null,
    };
    licences.set(key(tenant, module), licence);
    res.status(turnedOn ? 201 : 200).json(licence);
  });

  app.get('/tenants/:tenant/modules/:module', (req, res) => {
    const licence = licences.get(key(req.params.tenant, req.params.module));
    if (!licence) return void res.status(404).json({ error: 'module not licensed for this tenant' });
    res.json(licence);
  });

  app.get('/tenants/:tenant/modules', (req, res) => {
    res.json({ data: [...licences.values()].filter((l) => l.tenantId === req.params.tenant).sort((a, b) => a.module.localeCompare(b.module)) });
  });

  const { url, close } = await listenOnLoopback(app);
  return {
    url,
    close,
    setDown: (value) => void (down = value),
    failNext: (n) => void (failures = n),
    modules: (tenantId) => [...licences.values()].filter((l) => l.tenantId === tenantId).sort((a, b) => a.module.localeCompare(b.module)),
  };
}
