import type { KongAdminStandIn, KongAdminStandInOptions } from './admin-stand-in';

export type { KongAdminStandIn, KongAdminStandInOptions };
export * from './types';
export { createKongGateway, type KongGatewayOptions } from './gateway';
export type { KongAdminOptions } from './admin-gateway';
/** Loaded when called: the stand-in's Express is no part of starting a client of this package. */
export const startKongAdminStandIn = async (options?: KongAdminStandInOptions): Promise<KongAdminStandIn> =>
  (await import('./admin-stand-in')).startKongAdminStandIn(options);
export {
  planCutover,
  redirectLua,
  legacyRedirectLocation,
  isCutoverRedirectPlugin,
  CutoverPlanError,
  VIRTUAL_CARE_SERVICE_NAME,
  VIRTUAL_CARE_ROUTE_NAME,
  LEGACY_VIRTUAL_SESSIONS_PATH,
  REDIRECT_PLUGIN,
  type CutoverOptions,
  type LegacyRedirect,
} from './cutover';
export { diffKongConfig, formatKongDiff, type KongChange } from './diff';
export { reconcileKongConfig, type KongOp, type PluginScope } from './reconcile';
export { normalizeKongConfig } from './normalize';
export { kongSecretLeak, REDACTED, redactKongSecrets } from './redact';
export { kongConfigSchema, parseKongConfig } from './schema';
