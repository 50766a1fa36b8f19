import { LEGACY_TABLES, type LegacyTableSpec } from '@vc/fixtures';

/** The tables every tool moves: what S1 reads in bulk (configs and consents are a few rows per tenant). */
export const VIRTUAL_SESSION_AND_AUDIT: readonly LegacyTableSpec[] = LEGACY_TABLES.filter((t) => t.name === 'VirtualSession' || t.name === 'AuditLog');
