import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The demo's own settings. It reads one variable, `VC_DEMO_DATA_DIR` (default `./.data`, the apps' own
 * embedded default, so `pnpm migrator status` and `pnpm service` find the demo's state afterwards). Every
 * other `VC_*` variable is set by the demo for the processes it starts: it needs no configuration.
 */
export interface DemoSettings {
  /** The repository root (commands run from here, as an operator would). */
  root: string;
  /** Where PGlite, the KMS keyring, logs and reports go. */
  dataDir: string;
  /** The checked-in legacy CSV export. */
  exportDir: string;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Reads `VC_DEMO_DATA_DIR`; a blank value is a mistake worth naming rather than a silent default. */
export function demoSettings(env: Readonly<Record<string, string | undefined>>, root = REPO_ROOT): DemoSettings {
  const raw = env.VC_DEMO_DATA_DIR;
  if (raw !== undefined && raw.trim() === '') {
    throw new Error('VC_DEMO_DATA_DIR is empty: expected a directory path (default ./.data)');
  }
  const dataDir = raw === undefined ? join(root, '.data') : isAbsolute(raw) ? raw : resolve(root, raw);
  return { root, dataDir, exportDir: join(root, 'fixtures', 'legacy', 'csv') };
}
