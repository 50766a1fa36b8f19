import { z } from 'zod';
import { IntegrationError, isRetryableFrom } from '../errors';
import { checkedBaseUrl, requestJson, type RequestJsonInit } from '../http';
import { withRetry } from '../retry';
import type { Licensing } from './types';

/** Options of {@link createLicensingClient}. */
export interface LicensingClientOptions {
  /** The platform admin licensing API base URL. */
  baseUrl: string;
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
  /** Retries of a retryable failure after the first attempt. Default 3 (enabling is idempotent). */
  retries?: number;
  /** Backoff base of those retries. Default 100 ms. */
  retryBaseMs?: number;
}

/** A module's licence as the API returns it (README.md). */
export const moduleLicenceSchema = z.object({ tenantId: z.string(), module: z.string(), enabled: z.boolean(), enabledAt: z.string().nullable() });
export type ModuleLicence = z.infer<typeof moduleLicenceSchema>;

/** The platform licensing client (protocol in README.md beside this file). */
export function createLicensingClient(options: LicensingClientOptions): Licensing {
  const baseUrl = checkedBaseUrl('baseUrl', options.baseUrl);
  const timeoutMs = options.timeoutMs ?? 5000;
  const call = (
    what: string,
    tenantId: string,
    module: string,
    init: Pick<RequestJsonInit, 'method' | 'headers' | 'body'>,
    accept?: (status: number) => boolean,
  ) =>
    withRetry(
      () =>
        requestJson(`${baseUrl}/tenants/${encodeURIComponent(tenantId)}/modules/${encodeURIComponent(module)}`, {
          ...init,
          timeoutMs,
          system: 'licensing',
          what: `${what} ${module} for tenant ${tenantId}`,
          peer: 'licensing API',
          ...(accept ? { accept } : {}),
        }),
      { retries: options.retries ?? 3, baseMs: options.retryBaseMs ?? 100, isRetryable: isRetryableFrom('licensing') },
    );

  return {
    async enableModule(tenantId, module) {
      const { status, body } = await call('enabling', tenantId, module, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enabled: true }),
      });
      if (!parseLicence(body, `enabling ${module} for tenant ${tenantId}`, status).enabled) {
        throw new IntegrationError(`enabling ${module} for tenant ${tenantId}: expected { enabled: true } in the reply`, {
          system: 'licensing',
          status,
          retryable: false,
        });
      }
      // 201: the module was off (or never licensed) and is now on; 200: it already was on.
      return { enabled: true, changed: status === 201 };
    },

    async isEnabled(tenantId, module) {
      const { status, body } = await call('reading', tenantId, module, { method: 'GET' }, (s) => s === 200 || s === 404);
      return status === 200 && parseLicence(body, `reading ${module} for tenant ${tenantId}`, status).enabled;
    },
  };
}

function parseLicence(body: unknown, what: string, status: number): ModuleLicence {
  const parsed = moduleLicenceSchema.safeParse(body);
  if (!parsed.success)
    throw new IntegrationError(`${what}: expected a licence { tenantId, module, enabled, enabledAt }`, {
      system: 'licensing',
      status,
      retryable: false,
      cause: parsed.error,
    });
  return parsed.data;
}
