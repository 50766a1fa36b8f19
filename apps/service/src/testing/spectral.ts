import spectralCore, { type RulesetDefinition } from '@stoplight/spectral-core';
import spectralParsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';

/**
 * Spectral's `spectral:oas` ruleset with every rule on (`all`: the recommended ones and the optional ones,
 * such as parameter descriptions and alphabetical tags), at whatever severity each has: a hint counts as
 * much as an error. Two optional rules ask for what this document cannot honestly give, so they are off.
 */
const RULESET = {
  extends: [[oas as RulesetDefinition, 'all']],
  rules: {
    // OpenAPI 3.1 makes a license's `url` and `identifier` mutually exclusive; ours has an SPDX-style
    // identifier (a proprietary licence has no public URL), which this rule, written for 3.0, does not know.
    'license-url': 'off',
    // The owners publish no URL or mailbox for this API; inventing one would send integrators nowhere.
    // `info-contact` (recommended) still requires the contact object, which names the owners.
    'contact-properties': 'off',
  },
} as RulesetDefinition;

export interface SpectralFinding {
  code: string;
  severity: number;
  path: string;
  message: string;
}

/** Every finding of the ruleset on the document, as `code path: message` material for an assertion. */
export async function lintWithSpectral(document: unknown): Promise<SpectralFinding[]> {
  const spectral = new spectralCore.Spectral();
  spectral.setRuleset(RULESET);
  const results = await spectral.run(new spectralCore.Document(JSON.stringify(document), spectralParsers.Json));
  return results.map((r) => ({ code: String(r.code), severity: r.severity, path: r.path.join('.'), message: r.message }));
}
