import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the demo keeps under its data directory. Only these are removed on a re-run, never the directory
 * itself, so a mistaken `VC_DEMO_DATA_DIR` cannot wipe anything the demo did not write.
 */
export const DEMO_ENTRIES = ['pg', 'kms.json', 'reports', 'logs', 'kong.json', 'evidence'] as const;

export interface DataLayout {
  dir: string;
  databaseUrl: string;
  kms: string;
  reports: string;
  logs: string;
  kongFile: string;
  /** The auditor's evidence packs (`migrator evidence`), one folder and .tar.gz per tenant. */
  evidence: string;
}

export function dataLayout(dir: string): DataLayout {
  return {
    dir,
    databaseUrl: `pglite:${join(dir, 'pg')}`,
    kms: `local:${join(dir, 'kms.json')}`,
    reports: join(dir, 'reports'),
    logs: join(dir, 'logs'),
    kongFile: join(dir, 'kong.json'),
    evidence: join(dir, 'evidence'),
  };
}

/**
 * Every run starts from a clean slate: the stand-ins (FHIR, access-policy, Jitsi, Kong) live in memory
 * and are gone when the demo ends, so state left in PGlite from a previous run would point at servers
 * that no longer exist (a consent imported into a stand-in that is gone, a Jitsi URL on a closed port).
 */
export async function resetDataDir(layout: DataLayout): Promise<void> {
  await mkdir(layout.dir, { recursive: true });
  for (const entry of DEMO_ENTRIES) await rm(join(layout.dir, entry), { recursive: true, force: true });
  await mkdir(layout.logs, { recursive: true });
  await mkdir(layout.reports, { recursive: true });
}
