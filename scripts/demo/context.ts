import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import type { DataLayout } from './data-dir';
import type { FixtureFacts } from './fixture';
import type { MigratorRunner } from './migrator';
import type { DemoSettings } from './settings';
import type { StandIns } from './stand-ins';

/** What every part of the walk-through runs with. */
export interface DemoContext {
  root: string;
  /** Data paths as an operator would type them from the repository root. */
  layout: DataLayout;
  facts: FixtureFacts;
  standIns: StandIns;
  migrator: MigratorRunner;
  /** The plan: the service runs in shadow mode alongside legacy until the S4 cutover, live after it. */
  env: { shadow: Readonly<Record<string, string>>; live: Readonly<Record<string, string>> };
  /** The dev identity provider's HS256 secret, shared by the service and the demo's callers; per run. */
  hs256Secret: string;
}

/** A path inside the repository relative to it (commands run from the root); anything else absolute. */
export function fromRoot(root: string, path: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel || '.';
}

/** The `VC_*` environment of the migrator and the service: embedded defaults plus the stand-ins' URLs. */
export function demoEnvironments(settings: DemoSettings, layout: DataLayout, facts: FixtureFacts, standIns: StandIns): DemoContext['env'] {
  const base = {
    VC_DATABASE_URL: layout.databaseUrl,
    VC_KMS: layout.kms,
    VC_LEGACY_EXPORT_DIR: fromRoot(settings.root, settings.exportDir),
    VC_LEGACY_MASTER_KEY: facts.legacyMasterKey,
    ...standIns.env,
  };
  return { shadow: { ...base, VC_MODE: 'shadow' }, live: { ...base, VC_MODE: 'live' } };
}

export function newHs256Secret(): string {
  return randomBytes(32).toString('base64url');
}
