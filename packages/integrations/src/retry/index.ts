export { backoffDelay, withRetry, type RetryOptions } from './with-retry';
