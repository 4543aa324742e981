/**
 * The batch's table of every case: status, severity, % affected per lung, quality warnings
 * and time, as summary.csv (one row per case, then the clinical export's columns, the same
 * as `covseg segment`'s figures) and summary.json, both written atomically into --out.
 */
import { join } from 'node:path';
import { clinicalColumns, csvCell, type CsvCell } from '../clinical/csv.js';
import type { SegmentReport } from '../segment/report.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type CaseStatus = 'done' | 'skipped' | 'failed';

/** Which case a summary line is: its folder name, its input, and its StudyInstanceUID for a DICOMweb study. */
export interface CaseIdentity {
  name: string;
  input: string;
  study?: string;
}

/** One case's line of the summary. */
export interface CaseSummary extends CaseIdentity {
  /** done: completed by this run; skipped: done and verified by an earlier one; failed: `error` says why. */
  status: CaseStatus;
  /** The case's output folder (absent for a failed case). */
  dir?: string;
  /** The run's wall-clock time, seconds (of the run that completed it). */
  timeS?: number;
  error?: string;
  /** CT-0…CT-4, or null with `severityReason`. */
  severity?: string | null;
  severityReason?: string;
  percentAffected?: { right: number; left: number; total: number };
  lungCoverage?: string;
  /** Quality warnings (coverage, plausibility) and the report's other warnings. */
  warnings?: string[];
  /** The report, for the clinical columns; left out of summary.json (it is in the case folder). */
  report?: SegmentReport;
}

/** The summary line of a done case from its report. */
export function doneSummary(id: CaseIdentity, status: 'done' | 'skipped', dir: string, timeMs: number, report: SegmentReport): CaseSummary {
  return {
    ...id, status, dir, timeS: +(timeMs / 1000).toFixed(2),
    severity: report.severity.category,
    ...(report.severity.reason ? { severityReason: report.severity.reason } : {}),
    percentAffected: { right: report.lesions.right.percentOfLung, left: report.lesions.left.percentOfLung, total: report.lesions.total.percentOfLung },
    lungCoverage: report.quality.lungCoverage,
    warnings: [...report.quality.warnings, ...report.warnings.filter((w) => !report.quality.warnings.includes(w))],
    report,
  };
}

function summaryColumns(c: CaseSummary): [string, CsvCell][] {
  return [
    ['case', c.name], ['input', c.input], ['study_uid', c.study], ['status', c.status], ['time_s', c.timeS], ['error', c.error],
    ['severity', c.severity === undefined ? undefined : (c.severity ?? 'not graded')], ['severity_reason', c.severityReason],
    ['right_pct', c.percentAffected?.right], ['left_pct', c.percentAffected?.left], ['total_pct', c.percentAffected?.total],
    ['lung_coverage', c.lungCoverage], ['warnings', c.warnings?.join('; ')],
  ];
}

/**
 * summary.csv: the batch columns, then the clinical export's (src/clinical/csv.ts) where a
 * case has clinical figures; a failed case leaves those cells empty.
 */
export function summaryCsv(cases: readonly CaseSummary[]): string {
  const clinical = cases.map((c) => (c.report?.clinical ? clinicalColumns({ scan: c.name }, c.report.clinical).filter(([k]) => k !== 'scan' && k !== 'severity') : undefined));
  const clinicalHeader = clinical.find((x) => x)?.map(([k]) => k) ?? [];
  const header = [...summaryColumns({ name: '', input: '', status: 'failed' }).map(([k]) => k), ...clinicalHeader];
  const rows = cases.map((c, i) => {
    const extra = new Map(clinical[i] ?? []);
    return [...summaryColumns(c).map(([, v]) => v), ...clinicalHeader.map((k) => extra.get(k))];
  });
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

export interface BatchSummary {
  format: 'covseg-batch-summary';
  version: 1;
  createdAt: string;
  out: string;
  counts: Record<CaseStatus, number>;
  cases: Omit<CaseSummary, 'report'>[];
}

/** Writes summary.csv and summary.json into `out`; returns the JSON's content. */
export async function writeSummary(out: string, cases: readonly CaseSummary[]): Promise<BatchSummary> {
  const counts: Record<CaseStatus, number> = { done: 0, skipped: 0, failed: 0 };
  for (const c of cases) counts[c.status]++;
  const summary: BatchSummary = {
    format: 'covseg-batch-summary', version: 1, createdAt: new Date().toISOString(), out, counts,
    cases: cases.map(({ report: _report, ...c }) => c),
  };
  await writeFileAtomic(join(out, 'summary.csv'), summaryCsv(cases));
  await writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
