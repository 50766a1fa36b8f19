export * from './types';
export { createLicensingClient, type LicensingClientOptions, type ModuleLicence } from './client';
export { startLicensingStandIn, type LicensingStandIn } from './stand-in';
