import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { legacyChecks } from './legacy';

/**
 * Preflight on a CSV export with malformed records: the contract checks still pass (the phases reject
 * each record and load the rest) and warn with the count per file and where they are, never their text.
 */
const EXPORT_DIR = fileURLToPath(new URL('../../../../fixtures/legacy/csv', import.meta.url));
const PHI = 'Patient/phi-marker-5521';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-preflight-csv-'));
  await cp(EXPORT_DIR, dir, { recursive: true });
  // VirtualSession.csv has 416 lines (LF): a stray delimiter on 417, latin1 bytes on 418.
  await appendFile(join(dir, 'VirtualSession.csv'), `1,acme,\\N,${PHI},x,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N,\\N\n`);
  await appendFile(
    join(dir, 'VirtualSession.csv'),
    Buffer.from(`2,acme,\\N,${PHI}\u00fc,\\N,\\N,\\N,\\N,\\N,cancelled,\\N,jitsi,\\N,\\N,2026-09-01 08:00:00,2026-09-01 08:00:00\n`, 'latin1'),
  );
  // telehealth_consent.csv: a field missing.
  await appendFile(join(dir, 'telehealth_consent.csv'), `3,acme,${PHI}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('preflight counts the malformed records of a CSV export', () => {
  it('passes the contract checks with a warning naming each file, its count and lines, never a record', async () => {
    const { outcomes, source } = await legacyChecks({ config: loadConfig({ VC_LEGACY_EXPORT_DIR: dir }), log: createLogger('silent') }, 'acme');
    await source?.close();
    const byId = Object.fromEntries(outcomes.map((o) => [o.id, o]));
    expect(byId['legacy.contract']?.status).toBe('pass');
    expect(byId['legacy.contract']?.reason).toMatch(
      /warning: 2 malformed record\(s\).*: VirtualSession\.csv 2 \(VirtualSession\.csv:417, VirtualSession\.csv:418\)$/,
    );
    expect(byId['portal.contract']?.status).toBe('pass');
    expect(byId['portal.contract']?.reason).toMatch(/warning: 1 malformed record\(s\).*: telehealth_consent\.csv 1 \(telehealth_consent\.csv:\d+\)$/);
    expect(JSON.stringify(outcomes)).not.toContain('phi-marker');
  });

  it('says nothing of malformed records when there are none', async () => {
    const { outcomes, source } = await legacyChecks({ config: loadConfig({ VC_LEGACY_EXPORT_DIR: EXPORT_DIR }), log: createLogger('silent') }, 'acme');
    await source?.close();
    expect(outcomes.map((o) => [o.id, o.status, o.reason.includes('malformed')])).toEqual(
      expect.arrayContaining([
        ['legacy.contract', 'pass', false],
        ['portal.contract', 'pass', false],
      ]),
    );
  });
});
