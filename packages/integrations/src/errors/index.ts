export { IntegrationError, isRetryableFrom, type IntegrationSystem } from './integration-error';
