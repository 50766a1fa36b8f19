/** A Kong declarative configuration (decK / DB-less format 3.0), reduced to what the cutover touches. */
export interface KongService {
  name: string;
  url: string;
  routes?: KongRoute[];
  plugins?: KongPlugin[];
}
export interface KongRoute {
  name: string;
  paths: string[];
  methods?: string[];
  strip_path?: boolean;
  plugins?: KongPlugin[];
}
export interface KongPlugin {
  name: string;
  config?: Record<string, unknown>;
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
