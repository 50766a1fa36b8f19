export * from './tables/index';
export * from './client';
export { PgliteInUseError, pidAlive } from './pglite-claim';
export * from './migrate';
export * from './shadow-sessions-lock';
