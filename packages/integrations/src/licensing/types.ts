/** The platform admin licensing API: which modules a tenant may use. */
export const VIRTUAL_CARE_MODULE = 'virtual-care';

export interface Licensing {
  enableModule(tenantId: string, module: string): Promise<{ enabled: true; changed: boolean }>;
  isEnabled(tenantId: string, module: string): Promise<boolean>;
}
