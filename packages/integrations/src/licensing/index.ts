export * from './types';
export { createLicensingClient, moduleLicenceSchema, type LicensingClientOptions, type ModuleLicence } from './client';
export { startLicensingStandIn, type LicensingStandIn } from './stand-in';
