export * from './tables/index';
export * from './client';
export { PgliteInUseError } from './pglite-claim';
export * from './migrate';
export * from './shadow-sessions-lock';
