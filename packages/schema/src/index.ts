export * from './tables/index';
export * from './client';
export * from './migrate';
export * from './shadow-sessions-lock';
