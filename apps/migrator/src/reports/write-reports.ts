import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderJson } from './json';
import { renderJunit, untimedRun, type JunitRun } from './junit';
import { renderMarkdown } from './markdown';
import type { ValidationReport } from './validation-report';

export const REPORT_FORMATS = ['json', 'junit', 'md'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const FILE_NAMES: Record<ReportFormat, string> = { json: 'validation.json', junit: 'validation.junit.xml', md: 'validation.md' };

/** Parses `--report json,junit,md`; throws naming the allowed formats. */
export function parseReportFormats(list: string): ReportFormat[] {
  const formats = list.split(',').map((f) => f.trim()).filter((f) => f !== '');
  const bad = formats.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length > 0 || formats.length === 0) throw new Error(`--report expects a comma list of ${REPORT_FORMATS.join('|')}, got "${bad.join(',') || list}"`);
  return [...new Set(formats)] as ReportFormat[];
}

/** Renders every format first (the PHI guard may refuse), then writes them; returns the paths written. */
export async function writeValidationReports(report: ValidationReport, formats: readonly ReportFormat[], outDir: string, run: JunitRun = untimedRun()): Promise<string[]> {
  const rendered = formats.map((format) => {
    switch (format) {
      case 'json':
        return { format, text: renderJson(report) };
      case 'junit':
        return { format, text: renderJunit(report, run) };
      case 'md':
        return { format, text: renderMarkdown(report) };
    }
  });
  await mkdir(outDir, { recursive: true });
  const paths: string[] = [];
  for (const { format, text } of rendered) {
    const path = join(outDir, FILE_NAMES[format]);
    await writeFile(path, text, 'utf8');
    paths.push(path);
  }
  return paths;
}
