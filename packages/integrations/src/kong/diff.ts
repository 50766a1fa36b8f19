import { reconcileKongConfig, scopeKey, type KongOp } from './reconcile';
import type { KongConfig } from './types';

/** One line of a readable plan: `+` creates, `~` changes, `-` deletes. */
export interface KongChange {
  action: '+' | '~' | '-';
  /** `service virtual-care-service`, `route legacy-sessions`, `plugin pre-function on route:legacy-sessions`. */
  entity: string;
  /** What differs; never a plugin's config values (they may hold credentials). */
  detail: string;
}

/**
 * What applying `to` on a gateway holding `from` would do, in the order it would do it (see
 * {@link reconcileKongConfig}). Empty when nothing would change.
 */
export function diffKongConfig(from: KongConfig, to: KongConfig): KongChange[] {
  return reconcileKongConfig(from, to).map(describe);
}

/** The changes as text, one per line, for `--dry-run` output and runbooks. */
export function formatKongDiff(changes: readonly KongChange[]): string {
  return changes.length === 0 ? 'no change' : changes.map((c) => `${c.action} ${c.entity}${c.detail ? `: ${c.detail}` : ''}`).join('\n');
}

function describe(op: KongOp): KongChange {
  switch (op.op) {
    case 'upsert_service':
      return {
        action: op.exists ? '~' : '+',
        entity: `service ${op.name}`,
        detail: op.fields.includes('url') ? `url ${op.url}${others(op.fields, 'url')}` : op.fields.join(', '),
      };
    case 'upsert_route': {
      const { route } = op;
      const parts = [
        `service ${op.service}`,
        `paths ${route.paths.join(' ')}`,
        route.methods ? `methods ${route.methods.join(' ')}` : '',
        `strip_path ${route.strip_path}`,
      ];
      return {
        action: op.exists ? '~' : '+',
        entity: `route ${route.name}`,
        detail: op.exists ? `${op.fields.join(', ')} → ${parts.filter(Boolean).join('; ')}` : parts.filter(Boolean).join('; '),
      };
    }
    case 'upsert_plugin':
      return { action: op.exists ? '~' : '+', entity: `plugin ${op.plugin.name} on ${scopeKey(op.scope)}`, detail: op.exists ? op.fields.join(', ') : '' };
    case 'delete_plugin':
      return { action: '-', entity: `plugin ${op.name} on ${scopeKey(op.scope)}`, detail: '' };
    case 'delete_route':
      return { action: '-', entity: `route ${op.name}`, detail: '' };
    case 'delete_service':
      return { action: '-', entity: `service ${op.name}`, detail: '' };
  }
}

function others(fields: string[], shown: string): string {
  const rest = fields.filter((f) => f !== shown);
  return rest.length > 0 ? `, ${rest.join(', ')}` : '';
}
