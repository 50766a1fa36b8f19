/**
 * The repo's throwaway-server helpers (scripts/lib/*.mjs, plain JS shared with `pnpm test`), typed
 * for the bench. Loaded at run time by path so the bench reuses them rather than copying them.
 */
import { fileURLToPath } from 'node:url';

export interface Service {
  url: string;
  port: number;
  stop(): void;
}

interface ServicesModule {
  makeWorkDir(prefix?: string): string;
  removeWorkDir(dir: string): void;
  startPostgres(workDir: string, opts?: { settings?: string[] }): Promise<Service>;
  startMariadb(workDir: string): Promise<Service>;
  startNats(workDir: string): Promise<Service>;
  debianPackages: DebianPackage[];
}

interface DebianPackage {
  name: string;
  present(): boolean;
}

interface BootstrapModule {
  root: string;
  which(command: string): string | undefined;
  ensureDebianPackages(packages: DebianPackage[]): void;
}

const scripts = new URL('../../../scripts/lib/', import.meta.url);

export async function loadServices(): Promise<ServicesModule> {
  return (await import(new URL('services.mjs', scripts).href)) as ServicesModule;
}

export async function loadBootstrap(): Promise<BootstrapModule> {
  return (await import(new URL('bootstrap.mjs', scripts).href)) as BootstrapModule;
}

/** The repository root (where `pnpm migrator` runs). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
