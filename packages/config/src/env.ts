import type { z } from 'zod';
import { SETTING_FORMS, type SettingName } from './settings';

/**
 * The one "empty means unset" rule of both apps: a variable that is empty or only blanks counts as not
 * set, as shells and .env files commonly leave them (`VC_MODE=` is unset, so its default applies).
 */
export function presentSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') present[name] = value;
  return present;
}

/**
 * One line per bad variable, `NAME: expected <form>`, in the vocabulary's words: never the value given,
 * which may be a secret. A rule across variables (a `superRefine`) states its own message.
 */
export function describeIssues(error: z.ZodError): string[] {
  const lines = new Map<string, string>();
  for (const issue of error.issues) {
    const name = String(issue.path[0] ?? 'environment');
    const form = isRuleIssue(issue) || !(name in SETTING_FORMS) ? issue.message : SETTING_FORMS[name as SettingName];
    // A value of the right form that still cannot be used says why (its issue carries `why`), never what it was.
    const why = issue.code === 'custom' ? (issue.params as { why?: unknown } | undefined)?.why : undefined;
    if (!lines.has(name) || typeof why === 'string') lines.set(name, `${name}: expected ${form}${typeof why === 'string' ? ` (${why})` : ''}`);
  }
  return [...lines.values()];
}

/** Reports a rule across variables (a `superRefine`) on `name`, with its own message instead of the variable's form. */
export function addRuleIssue(ctx: z.RefinementCtx, name: string, message: string): void {
  ctx.addIssue({ code: 'custom', path: [name], message, params: { rule: true } });
}

function isRuleIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && (issue.params as { rule?: unknown } | undefined)?.rule === true;
}
