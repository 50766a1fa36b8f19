/** The platform admin licensing API: which modules a tenant may use. */
export const VIRTUAL_CARE_MODULE = 'virtual-care';

export interface Licensing {
  enableModule(tenantId: string, module: string): Promise<{ enabled: true; changed: boolean }>;
  isEnabled(tenantId: string, module: string): Promise<boolean>;
}

/** A licensing call that failed; `retryable` for timeouts, network errors and 5xx. Names the tenant and module only. */
export class LicensingError extends Error {
  override readonly name = 'LicensingError';
  constructor(message: string, readonly status: number | undefined, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}
