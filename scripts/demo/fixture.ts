import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExpectedCounts } from '../../fixtures/src/expected';

/** What the demo needs to know about the checked-in export, all read from its `expected.json`. */
export interface FixtureFacts {
  /** The `--as-of` the export was generated for (sessions after it are deferred to S4's delta sync). */
  asOf: string;
  /** The legacy master key the export's credentials are encrypted under (a test key; never printed). */
  legacyMasterKey: string;
  tenants: string[];
  /** Tenants broken on purpose: their legacy config must not migrate, so validation must fail them. */
  brokenTenants: string[];
  expected: ExpectedCounts;
}

/** Reads `expected.json`; the broken tenants are the ones whose config is expected not to load. */
export async function readFixtureFacts(exportDir: string): Promise<FixtureFacts> {
  const file = join(exportDir, 'expected.json');
  const expected = JSON.parse(await readFile(file, 'utf8')) as ExpectedCounts;
  if (typeof expected.asOf !== 'string' || typeof expected.legacyMasterKey !== 'string' || typeof expected.tenants !== 'object') {
    throw new Error(`${file}: expected { asOf, legacyMasterKey, tenants } (ExpectedCounts in fixtures/src/expected.ts)`);
  }
  const tenants = Object.keys(expected.tenants).sort();
  return {
    asOf: expected.asOf,
    legacyMasterKey: expected.legacyMasterKey,
    tenants,
    brokenTenants: tenants.filter((t) => !expected.tenants[t]!.config.loaded),
    expected,
  };
}
