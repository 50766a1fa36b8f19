export * from './build-encounter';
