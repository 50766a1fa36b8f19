export { renderJson } from './json';
export { checkKey, renderJunit, untimedRun, type JunitRun } from './junit';
export { renderMarkdown } from './markdown';
export { renderParallelRunMarkdown } from './parallel-run-markdown';
export { assertNoPhi, findPersonalData, PhiLeakError } from './phi-guard';
export { buildValidationReport, type ValidationReport } from './validation-report';
export { parseReportFormats, REPORT_FORMATS, writeValidationReports, type ReportFormat } from './write-reports';
