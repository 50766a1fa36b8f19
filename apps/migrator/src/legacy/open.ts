import type { MigratorConfig } from '../config';
import { ExitError } from '../exit-error';
import type { LegacySource } from './types';

/** The legacy digital-communication source named by config. */
export async function openLegacySource(spec: { kind: 'mysql'; url: string; pushdown?: boolean } | { kind: 'csv'; dir: string }): Promise<LegacySource> {
  // Each reader's module on first use: a CSV export never loads mysql2, a database never loads csv-parse.
  if (spec.kind === 'mysql') return (await import('./mysql-source')).createMysqlSource(spec.url, undefined, { pushdown: spec.pushdown ?? false });
  return (await import('./csv-source')).createCsvSource(spec.dir);
}

/** The legacy patient-portal source: its own MySQL database, or the same CSV export directory. */
export async function openPortalSource(config: MigratorConfig): Promise<LegacySource> {
  if (config.VC_PORTAL_DATABASE_URL) return (await import('./mysql-source')).createMysqlSource(config.VC_PORTAL_DATABASE_URL);
  if (config.VC_LEGACY_EXPORT_DIR) return (await import('./csv-source')).createCsvSource(config.VC_LEGACY_EXPORT_DIR);
  throw new ExitError(2, 'no patient-portal source: set VC_PORTAL_DATABASE_URL (mysql://…/patient_portal) or VC_LEGACY_EXPORT_DIR');
}
