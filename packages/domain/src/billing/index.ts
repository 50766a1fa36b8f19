export * from './billing-event';
