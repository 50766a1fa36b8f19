export * from './tables/index';
export * from './client';
export * from './migrate';
