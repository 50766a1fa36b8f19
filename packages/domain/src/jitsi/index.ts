export * from './claims';
export * from './credentials';
