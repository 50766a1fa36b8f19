import type { WarningCode } from './codes';

/**
 * Legacy `TenantVirtualCareConfig.branding` is JSON text, sometimes hand-edited into invalid JSON.
 * Only a JSON object is branding; anything else becomes NULL with a warning, never a failed tenant.
 */
export function parseBranding(raw: string | null): { branding: Record<string, unknown> | null; warning: WarningCode | null } {
  const text = (raw ?? '').trim();
  if (text === '' || text === '\\N') return { branding: null, warning: null };
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return { branding: parsed as Record<string, unknown>, warning: null };
  } catch {
    // Malformed JSON is the legacy quirk this function exists for; the caller records the warning.
  }
  return { branding: null, warning: 'malformed_branding' };
}
