import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedFamilies, csvContractFaults, DIGITAL_COMMUNICATION_TABLES, PATIENT_PORTAL_TABLES } from './legacy-contract';

const EXPORT_DIR = fileURLToPath(new URL('../../../../fixtures/legacy/csv', import.meta.url));
let broken: string;

beforeAll(async () => {
  broken = await mkdtemp(join(tmpdir(), 'vc-contract-'));
  for (const table of ['AuditLog', 'TenantVirtualCareConfig']) await copyFile(join(EXPORT_DIR, `${table}.csv`), join(broken, `${table}.csv`));
  // A BOM-led header without roomName and cancelReason; no BillingEvent.csv at all.
  await writeFile(
    join(broken, 'VirtualSession.csv'),
    '\uFEFFid,tenantId,externalId,patientRef,practitionerRef,scheduledStart,scheduledEnd,startedAt,endedAt,status,videoBackend,encounterRef,createdAt,updatedAt\n',
  );
});

afterAll(async () => {
  await rm(broken, { recursive: true, force: true });
});

describe('the legacy contract as preflight checks it', () => {
  it('the checked-in CSV export matches it', async () => {
    expect(await csvContractFaults(EXPORT_DIR, [...DIGITAL_COMMUNICATION_TABLES, ...PATIENT_PORTAL_TABLES])).toEqual([]);
  });

  it('names every missing header column and every missing file of an export, never a value', async () => {
    expect(await csvContractFaults(broken, DIGITAL_COMMUNICATION_TABLES)).toEqual([
      'VirtualSession.csv: the header lacks column(s) roomName, cancelReason',
      'BillingEvent.csv: not in the export',
    ]);
  });

  it.each([
    ['VirtualSession', 'id', ['integer']],
    ['VirtualSession', 'startedAt', ['datetime']],
    ['VirtualSession', 'createdAt', ['text', 'datetime']],
    ['VirtualSession', 'status', ['text']],
    ['TenantVirtualCareConfig', 'enabled', ['integer']],
    ['telehealth_consent', 'granted_at', ['datetime']],
  ] as const)('%s.%s may be of type %j', (table, column, families) => {
    expect(acceptedFamilies(table, column)).toEqual(families);
  });
});
