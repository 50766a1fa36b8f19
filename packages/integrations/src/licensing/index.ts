import type { LicensingStandIn } from './stand-in';

export type { LicensingStandIn };
export * from './types';
export { createLicensingClient, moduleLicenceSchema, type LicensingClientOptions, type ModuleLicence } from './client';
/** Loaded when called: the stand-in's Express is no part of starting a client of this package. */
export const startLicensingStandIn = async (): Promise<LicensingStandIn> => (await import('./stand-in')).startLicensingStandIn();
