import { diffKongConfig, type KongConfig, type KongGateway } from '@vc/integrations/kong';
import { SETTING_FORMS } from '../../config';
import { loadCheckpoint } from '../../engine/state';
import type { Database } from '@vc/schema';
import { UsageError } from '../../engine/errors';

/** The gateway step 4.2 recorded for the tenant's cutover (`admin:<url>` or `file:<path>`), if any. */
export async function recordedGateway(db: Database, tenant: string): Promise<string | undefined> {
  const recorded = (await loadCheckpoint(db, { tenantId: tenant, phase: 's4', stepId: '4.2' }))?.facts.gateway;
  return typeof recorded === 'string' ? recorded : undefined;
}

function gatewayKind(description: string): string {
  return description.startsWith('admin:') ? 'the Kong Admin API of VC_KONG_ADMIN_URL' : 'a decK file (VC_KONG_FILE, default .data/kong.yaml)';
}

/**
 * The routing must be restored (or checked) where the cutover applied it. Without VC_KONG_ADMIN_URL the
 * gateway is the default decK file: a rollback would "succeed" on a file while Kong stayed cut over. Step
 * 4.2 recorded its gateway; a different one now is a configuration error (exit 2) naming the variables.
 */
export async function checkSameGateway(db: Database, tenant: string, gateway: KongGateway, doing: string): Promise<void> {
  const recorded = await recordedGateway(db, tenant);
  if (recorded === undefined || recorded === gateway.description) return;
  const now = gatewayKind(gateway.description);
  const then = gatewayKind(recorded);
  throw new UsageError(
    `the cutover of tenant ${tenant} was applied through ${then}; this run would ${doing} ${then === now ? 'a different one' : now}. ` +
      `Set VC_KONG_ADMIN_URL (expected ${SETTING_FORMS.VC_KONG_ADMIN_URL}) or VC_KONG_FILE (expected ${SETTING_FORMS.VC_KONG_FILE}) as they were for \`migrator phase s4\``,
  );
}

/**
 * What applying `applied` on a gateway holding `live` would change, as `<action> <entity>` lines: empty
 * when the cut-over routing is what Kong serves (compared normalised, and a plugin config Kong filled
 * defaults into still matches; entities the cutover never named, other teams' routing, do not count).
 */
export function routingDrift(live: KongConfig, applied: KongConfig): string[] {
  return diffKongConfig(live, applied).map((c) => `${c.action} ${c.entity}`);
}
