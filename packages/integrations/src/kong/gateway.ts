import { createAdminGateway, type KongAdminOptions } from './admin-gateway';
import { createFileGateway } from './file-gateway';
import type { KongGateway } from './types';

/** Where `createKongGateway` applies routing: Kong's Admin API, or a decK declarative file. */
export type KongGatewayOptions = KongAdminOptions | { file: string };

/**
 * Kong through its Admin API (`{ adminUrl }`, `VC_KONG_ADMIN_URL`) or a decK file (`{ file }`, the embedded
 * default: the operator syncs it with `deck gateway sync`). Both modes share one reconciliation, so a plan
 * applies the same way to either.
 */
export function createKongGateway(options: KongGatewayOptions): KongGateway {
  return 'file' in options ? createFileGateway(options.file) : createAdminGateway(options);
}
