export { createApp, API_BASE, type CreatedApp } from './app';
export { startService, type RunningService, type StartOptions } from './server';
export { loadConfig, ConfigError, type ServiceConfig } from './config';
export type { ServiceDeps } from './deps';
export { createLogger } from './logger';
export { OutboxRelay, type RelayOptions } from './outbox/relay';
