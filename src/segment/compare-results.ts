/**
 * Follow-up over `covseg segment` result folders: each folder's report.json checked, its
 * masks (and the CT, which gives the density split; and the lobes, which give the lobe
 * scores) read back, the clinical figures computed from them, and the comparison with its
 * pictures. One implementation for `covseg compare` (src/cli/commands/compare.ts) and the
 * web page's side-by-side view (src/web/routes/compare.ts). The figures come from the
 * masks, so results made before the clinical figures existed compare too.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { allInOrder } from '../util/in-order.js';
import { dicomDateToIso, readVolume } from '../io/index.js';
import type { RgbImage } from '../figures/index.js';
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import {
  checkSamePatient, clinicalCsv, clinicalFigures, compareScans, matchedLevelsPicture, sliceSource, trendPicture,
  type ClinicalFigures, type Comparison, type ScanForComparison, type SliceSource,
} from '../clinical/index.js';
import { readSegmentReport } from './read-report.js';
import type { SegmentReport } from './report.js';

/** One result folder, loaded. */
export interface LoadedResult {
  scan: ScanForComparison;
  slices: SliceSource;
  severity?: string;
  notes: string[];
}

/** Masks, the CT when it can be found, the lobes when written, and the figures of one result folder, named `name` in the comparison. */
export async function loadSegmentResult(dir: string, report: SegmentReport, options: { name?: string; date?: string } = {}): Promise<LoadedResult> {
  const notes: string[] = [];
  const asLabels = (v: Volume): LabelMap => (v.data instanceof Uint8Array ? (v as LabelMap) : createVolume(Uint8Array.from(v.data), v.dims, v));
  const lungMap = asLabels(await readVolume(join(dir, report.outputs!['lungs']!)));
  const lesionMap = asLabels(await readVolume(join(dir, report.outputs!['lesions']!)));
  const same = (v: Volume) => v.dims.every((d, a) => d === lungMap.dims[a]);
  if (!same(lesionMap)) throw new CovsegError(`the lesion mask's grid [${lesionMap.dims.join(', ')}] differs from the lungs' [${lungMap.dims.join(', ')}]`, { file: dir });
  const lobesFile = report.outputs?.['lobes'];
  const lobes = lobesFile && existsSync(join(dir, lobesFile)) ? asLabels(await readVolume(join(dir, lobesFile))) : undefined;
  if (lobes && !same(lobes)) throw new CovsegError(`the lobe map's grid [${lobes.dims.join(', ')}] differs from the lungs' [${lungMap.dims.join(', ')}]`, { file: dir });
  // The CT: the folder's viewer copy, else the input the report names.
  let ct: Volume | undefined;
  for (const candidate of [report.outputs?.['viewerCt'] ? join(dir, report.outputs['viewerCt']) : undefined, report.input?.path]) {
    if (!candidate || !existsSync(candidate)) continue;
    const v = await readVolume(candidate).catch(() => undefined);
    if (v && same(v)) {
      ct = v;
      break;
    }
  }
  const spacingKnown = report.input?.spacingKnown ?? true;
  // Scored where segment graded the scan (lungs wholly in view, a plausible mask), as the pipeline scores it.
  const assessable = report.severity ? report.severity.category != null : (report.quality?.assessable ?? true);
  const notAssessableReason = report.severity?.reason ?? report.severity.reason;
  const common = { lungs: lungMap, lesions: lesionMap, spacingKnown, assessable, ...(notAssessableReason ? { notAssessableReason } : {}), ...(lobes ? { lobes } : {}) };
  let figures: ClinicalFigures;
  if (ct) {
    figures = clinicalFigures({ ct, ...common, isHu: report.input?.isHu ?? false, huReason: report.input?.huReason });
  } else if (report.clinical) {
    figures = report.clinical;
    notes.push('the CT was not found: figures from report.json, slices drawn without the CT');
  } else {
    figures = clinicalFigures({ ct: createVolume(new Int16Array(lungMap.data.length), lungMap.dims, lungMap), ...common, isHu: false, huReason: 'the CT was not found (no ct.nii.gz, and the input named in report.json is gone)' });
    notes.push('the CT was not found: no ground glass / consolidation split');
  }
  const slices = sliceSource(ct ?? createVolume(new Int16Array(lungMap.data.length), lungMap.dims, lungMap), lungMap, lesionMap, !!ct && (report.input?.isHu ?? false));
  return {
    scan: { name: options.name ?? dir, date: options.date ?? dicomDateToIso(report.input?.studyDate), patientId: report.input?.patientId, figures },
    slices,
    severity: report.severity?.category ?? undefined,
    notes,
  };
}

export interface CompareResultsOptions {
  /** The verdict's stable range, ± percentage points. Defaults to the rule's (src/clinical/compare.ts). */
  stableWithinPoints?: number;
  /** Compare scans whose reports name different patients. Defaults to false (refused). */
  force?: boolean;
  /** How the refusal of different patients tells the user to force it (the CLI's flag, the API's parameter). Defaults to '--force'. */
  forceHint?: string;
}

export interface ComparedResults {
  comparison: Comparison;
  /** What the reader should know: different patients compared anyway, a CT not found. */
  notes: string[];
  /** The results in the comparison's order (by date when every scan has one, else as given). */
  results: LoadedResult[];
  /** The research export, one row per scan. */
  csv: string;
  /** The scans side by side at matched levels, one physical scale. */
  levels: RgbImage;
  /** The figures over time. */
  trend: RgbImage;
}

/**
 * Compares the result folders `folders` (each with the name it has in tables and
 * pictures, and a study date where the caller knows one better than its report). Every
 * report is read and the patients checked before any volume is.
 */
export async function compareResults(folders: readonly { dir: string; name?: string; date?: string }[], options: CompareResultsOptions = {}): Promise<ComparedResults> {
  const reports = await allInOrder(folders.map((f) => readSegmentReport(f.dir)));
  const named = folders.map((f) => f.name ?? f.dir);
  const patientNotes = checkSamePatient(reports.map((r, k) => ({ name: named[k]!, patientId: r.input?.patientId })), options.force, options.forceHint);
  const loaded: LoadedResult[] = [];
  for (const [k, f] of folders.entries()) loaded.push(await loadSegmentResult(f.dir, reports[k]!, { name: named[k]!, ...(f.date !== undefined ? { date: f.date } : {}) }));
  const comparison = compareScans(loaded.map((r) => r.scan), { stableWithinPoints: options.stableWithinPoints });
  const results = comparison.scans.map((s) => loaded.find((r) => r.scan.name === s.name)!);
  const notes = [...patientNotes, ...results.flatMap((r) => r.notes.map((n) => `${r.scan.name}: ${n}`))];
  return {
    comparison,
    notes,
    results,
    csv: clinicalCsv(results.map((r) => ({ info: { scan: r.scan.name, date: r.scan.date, patientId: r.scan.patientId, severity: r.severity }, figures: r.scan.figures }))),
    levels: matchedLevelsPicture(results.map((r) => r.slices), results.map((r) => r.scan.date ?? r.scan.name)),
    trend: trendPicture(comparison),
  };
}
