import type { TokenVerifier } from './auth/authenticate';
import type { ServiceDeps } from './deps';
import type { Metrics } from './metrics';
import type { OutboxWriter } from './outbox/write';
import type { TenantConfigCache } from './tenant-config/cache';
import type { AppSecretCache } from './tenant-config/credentials';

/** What routers and use-cases share: the injected deps plus what the app derives from them once. */
export interface AppContext extends ServiceDeps {
  outbox: OutboxWriter;
  verifier: TokenVerifier;
  metrics: Metrics;
  secrets: AppSecretCache;
  /** Enabled tenant configs for joins; `PUT /config` invalidates its tenant's entry. */
  tenantConfigs: TenantConfigCache;
}
