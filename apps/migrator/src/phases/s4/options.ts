import type { RunOptions } from '../../engine/types';

/** Flags only S4 reads (`migrator phase s4 …`), passed through on {@link RunOptions} by camelCase name. */
export interface S4Options {
  /** `--service-upstream`: the virtual-care-service URL Kong forwards `/api/v1/virtual-care/*` to. */
  readonly serviceUpstream?: string;
  /** `--legacy-service`: the Kong service of legacy digital-communication, whose session routes answer 301. */
  readonly legacyService?: string;
}

export const DEFAULT_SERVICE_UPSTREAM = 'http://virtual-care-service:8080';
export const DEFAULT_LEGACY_SERVICE = 'digital-communication';
export const NEW_PATH_PREFIX = '/api/v1/virtual-care';

export function s4Options(options: RunOptions): Required<S4Options> {
  const extra = options as RunOptions & S4Options;
  return { serviceUpstream: extra.serviceUpstream ?? DEFAULT_SERVICE_UPSTREAM, legacyService: extra.legacyService ?? DEFAULT_LEGACY_SERVICE };
}

/** `--service-upstream` is where Kong forwards to: an absolute http(s) URL. */
export function checkServiceUpstream(value: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol))
    throw new Error(`--service-upstream expects an http(s):// URL of virtual-care-service (e.g. ${DEFAULT_SERVICE_UPSTREAM}), got "${value}"`);
}

/** `--legacy-service` names a Kong service: Kong allows letters, digits, `.`, `-`, `_` and `~`. */
export function checkLegacyService(value: string): void {
  if (!/^[A-Za-z0-9._~-]+$/.test(value))
    throw new Error(`--legacy-service expects a Kong service name (letters, digits, . - _ ~; e.g. ${DEFAULT_LEGACY_SERVICE}), got "${value}"`);
}
