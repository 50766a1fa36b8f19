import type { MigratorConfig } from '../config';
import { ExitError } from '../exit-error';
import { createCsvSource } from './csv-source';
import { createMysqlSource } from './mysql-source';
import type { LegacySource } from './types';

/** The legacy digital-communication source named by config. */
export async function openLegacySource(spec: { kind: 'mysql'; url: string; pushdown?: boolean } | { kind: 'csv'; dir: string }): Promise<LegacySource> {
  return spec.kind === 'mysql' ? createMysqlSource(spec.url, undefined, { pushdown: spec.pushdown ?? false }) : createCsvSource(spec.dir);
}

/** The legacy patient-portal source: its own MySQL database, or the same CSV export directory. */
export async function openPortalSource(config: MigratorConfig): Promise<LegacySource> {
  if (config.VC_PORTAL_DATABASE_URL) return createMysqlSource(config.VC_PORTAL_DATABASE_URL);
  if (config.VC_LEGACY_EXPORT_DIR) return createCsvSource(config.VC_LEGACY_EXPORT_DIR);
  throw new ExitError(2, 'no patient-portal source: set VC_PORTAL_DATABASE_URL (mysql://…/patient_portal) or VC_LEGACY_EXPORT_DIR');
}
