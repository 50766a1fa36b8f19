import type { Step } from '../../engine/types';

/**
 * Plan S0 "Deploy service in shadow mode alongside legacy": until the S4 cutover the service must run with
 * `VC_MODE=shadow`, which suppresses Encounters and billing so the parallel run double-bills nobody.
 * The migrator checks the value it is given (the deployment shares it) and says what it found.
 */
export const shadowModeStep: Step = {
  id: '0.3',
  title: 'Verify the service shadow-mode configuration',
  scope: 'global',
  rerunWhenDone: true,
  async run(ctx) {
    const mode = ctx.config.VC_MODE ?? 'unset';
    const ok = mode === 'shadow';
    if (!ok)
      ctx.log.warn({ mode }, 'VC_MODE is not shadow: before the S4 cutover the service must run with VC_MODE=shadow (no Encounters, no billing publish)');
    await ctx.commit({ cursor: { done: true }, read: 0, written: 0, facts: { mode, shadow: ok } });
  },
};
