/** The parts of the migrator's `--json` output (docs/design.md §8) the demo reads. */
export interface StepReport {
  id: string;
  tenant: string;
  status: string;
  read: number;
  written: number;
  rejected: number;
  deferred: number;
  warnings: number;
  error?: string;
}

export interface PhaseSummary {
  phase: string;
  status: string;
  steps: StepReport[];
  rejects: Record<string, number>;
  warnings: Record<string, number>;
  errors?: Array<{ tenant: string; step: string; message: string }>;
}

export interface ValidationCheck {
  id: string;
  tenant: string;
  status: 'pass' | 'fail' | 'error';
  samples?: string[];
}

export interface ValidationSummary {
  status: 'pass' | 'fail';
  checks: ValidationCheck[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A phase's `--json` object, or an error naming what was missing (the CLI's output contract changed). */
export function asPhaseSummary(json: Record<string, unknown> | undefined, command: string): PhaseSummary {
  // bin.ts prints { status: 'error', error } when a command fails before its summary: say why.
  if (isObject(json) && json.status === 'error') throw new Error(`${command} failed: ${String(json.error)}`);
  if (!isObject(json) || !Array.isArray(json.steps) || typeof json.status !== 'string') {
    throw new Error(`${command}: expected its --json summary { phase, status, steps, rejects, warnings } on stdout`);
  }
  const summary = json as unknown as PhaseSummary;
  return { ...summary, rejects: summary.rejects ?? {}, warnings: summary.warnings ?? {} };
}

export function asValidationSummary(json: Record<string, unknown> | undefined, command: string): ValidationSummary {
  if (!isObject(json) || !Array.isArray(json.checks) || (json.status !== 'pass' && json.status !== 'fail')) {
    throw new Error(`${command}: expected its --json report { status: pass|fail, checks: [...] } on stdout`);
  }
  return json as unknown as ValidationSummary;
}

/** The report of step `id` for `tenant` in a phase summary. */
export function stepOf(summary: PhaseSummary | undefined, tenant: string, id: string): StepReport | undefined {
  return summary?.steps.find((s) => s.tenant === tenant && s.id === id);
}
