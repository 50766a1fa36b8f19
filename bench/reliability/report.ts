/** bench/reliability/RESULTS.md: what was run, on how busy a machine, every kill and every round's verdict. */
import type { ReliabilityResults } from './kill-rounds';

export interface ReliabilityReport {
  command: string;
  startedAt: string;
  machine: string;
  /** `uptime` before the clean run and after the last round: the box is shared, so say how busy it was. */
  loadBefore: string;
  loadAfter: string;
  legacyRows: number;
  options: { rounds: number; killsPerRound: number; sessions: number; tenants: number; seed: number; batchSize: number; pgDropShare: number };
  results: ReliabilityResults;
}

export function reliabilityMarkdown(r: ReliabilityReport): string {
  const { kills, rounds, cleanMs } = r.results;
  const identical = rounds.filter((x) => x.differing.length === 0 && x.resumeExit === 0).length;
  const effective = kills.filter((k) => k.ended !== 'exit 0').length;
  const byEnd = kills.reduce<Record<string, number>>((acc, k) => ((acc[k.ended] = (acc[k.ended] ?? 0) + 1), acc), {});
  return [
    '# Reliability: S1 killed, or its PostgreSQL connections dropped, at random instants, and resumed',
    '',
    `docs/design.md §9: a run killed at random instants and resumed ends identical to a clean run. Command: \`${r.command}\`, ${r.startedAt}.`,
    '',
    `- Machine: ${r.machine}. Load (\`uptime\`) before: \`${r.loadBefore}\`; after: \`${r.loadAfter}\`.`,
    `- Data: ${r.options.sessions} sessions over ${r.options.tenants} tenant(s) (${r.legacyRows} legacy rows) in MariaDB → PostgreSQL 15; \`phase s1 --all-tenants --batch-size ${r.options.batchSize}\`; seed ${r.options.seed}.`,
    `- Clean run: ${(cleanMs / 1000).toFixed(1)} s of work (from its \`vc_migration.runs\` row to its exit; Node's startup excluded). Each kill instant is drawn uniformly over that span, counted from the killed run's own start of work.`,
    `- N = ${kills.length} interruptions in ${rounds.length} rounds of ${r.options.killsPerRound} (a share ${r.options.pgDropShare} drawn as \`pg-drop\`: \`pg_terminate_backend\` of every backend of the run), ${effective} of them ending the run early (the others found it finished, or it rode the drop out); how the interrupted runs ended: ${Object.entries(
      byEnd,
    )
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ')}.`,
    `- **Outcome: ${identical} of ${rounds.length} rounds ended identical to the clean run** (digests of virtual_sessions, session_participants, billing_events, encounter_backfills, rejects, id_map, step_checkpoints).`,
    '',
    '| round | interruption | at ms | interrupted run ended | steps left unfinished (tenant step status read) |',
    '| --- | --- | --- | --- | --- |',
    ...kills.map((k) => `| ${k.round} | ${k.signal} | ${k.atMs} | ${k.ended} | ${k.landed} |`),
    ...(kills.some((k) => k.ended === 'signal SIGTERM')
      ? [
          '',
          'A SIGTERM that ends the process by the signal arrived after the run had finished its steps and removed its handlers (its work was committed; see "steps left unfinished").',
        ]
      : []),
    '',
    '| round | resume exit | tables differing from the clean run |',
    '| --- | --- | --- |',
    ...rounds.map((x) => `| ${x.round} | ${x.resumeExit} | ${x.differing.length === 0 ? 'none' : x.differing.join(', ')} |`),
    '',
  ].join('\n');
}
