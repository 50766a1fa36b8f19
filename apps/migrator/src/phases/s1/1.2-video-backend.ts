import type { Step } from '../../engine/types';

interface BackendCount {
  video_backend: string;
  n: number;
  normalised: number;
}

/**
 * Plan 1.2: "Map videoBackend field (default jitsi for all historical records)". The mapping itself
 * happens as 1.1 loads each row (one write per session, not two); this step checks its result on the
 * loaded rows — every historical session has a backend — and records the counts per backend and how many
 * were normalised (raw value kept in migrated_from).
 */
export const videoBackendStep: Step = {
  id: '1.2',
  title: 'Map videoBackend (jitsi by default for historical records)',
  async run(ctx) {
    const rows = await ctx.query<BackendCount>(
      `select video_backend::text as video_backend, count(*)::int as n, count(*) filter (where migrated_from ? 'videoBackend')::int as normalised
         from virtual_sessions where tenant_id = $1 and legacy_id is not null group by 1 order by 1`,
      [ctx.tenantId],
    );
    const byBackend = Object.fromEntries(rows.map((r) => [r.video_backend, r.n]));
    const normalised = rows.reduce((sum, r) => sum + r.normalised, 0);
    const checked = rows.reduce((sum, r) => sum + r.n, 0);
    await ctx.commit({ cursor: { done: true }, read: checked, written: 0, facts: { byBackend, normalised } });
  },
};
