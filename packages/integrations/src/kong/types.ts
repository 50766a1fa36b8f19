/**
 * A Kong declarative configuration (decK / DB-less format 3.0), reduced to what the cutover touches.
 * Entities we create carry the tag {@link CUTOVER_TAG}; `apply` deletes only tagged entities the config no
 * longer names, so routing owned by other teams is never removed.
 */
export const CUTOVER_TAG = 'virtual-care-cutover';

export interface KongService {
  name: string;
  url: string;
  tags?: string[];
  routes?: KongRoute[];
  plugins?: KongPlugin[];
}
export interface KongRoute {
  name: string;
  paths: string[];
  methods?: string[];
  strip_path?: boolean;
  tags?: string[];
  plugins?: KongPlugin[];
}
export interface KongPlugin {
  name: string;
  config?: Record<string, unknown>;
  /** Omitted when enabled (Kong's default). */
  enabled?: boolean;
  tags?: string[];
}
export interface KongConfig {
  _format_version: '3.0';
  services: KongService[];
}

export interface KongGateway {
  /** Where changes go, for reports: `admin:<url>` or `file:<path>`. */
  readonly description: string;
  /** The routing in force now (the snapshot rollback restores). */
  snapshot(): Promise<KongConfig>;
  /** Makes the gateway's routing equal `config` (services/routes/plugins it names; others untouched). */
  apply(config: KongConfig): Promise<void>;
}
