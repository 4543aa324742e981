/**
 * `covseg segment --dicomweb`: a study from a PACS in, its results back into a PACS.
 * Fetch the CT series (fetch-series.ts) into a temporary folder, run the same segmentCase
 * as for a folder, and store every DICOM output it wrote (the DICOM SEG and SR, any
 * .dcm output) in one STOW-RS request. The temporary folders are removed whatever happens;
 * local copies stay only where `outDir` is given.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readDicomHeader } from '../io/index.js';
import { segmentCase, type SegmentOptions, type SegmentResult, type SegmentStage } from '../segment/index.js';
import { CovsegError } from '../util/errors.js';
import type { DicomWebClient, StoreItem, StoreResult } from './client.js';
import { fetchCtSeries, type FetchedSeries } from './fetch-series.js';

export type StudyStage = SegmentStage | 'fetch' | 'store';

export interface SegmentStudyOptions extends Omit<SegmentOptions, 'onProgress' | 'inputName'> {
  /** Where the study is. */
  source: DicomWebClient;
  studyInstanceUid: string;
  /** This series instead of the study's largest CT series. */
  seriesInstanceUid?: string;
  /** Where the results are stored. Defaults to `source`. */
  target?: DicomWebClient;
  /** Keep the outputs here (as `covseg segment --out`); none kept when absent. */
  outDir?: string;
  onProgress?: (stage: StudyStage, done: number, total: number) => void;
}

export interface SegmentStudyResult {
  series: FetchedSeries;
  /** The segmentation; its files are gone after the call unless `outDir` was given. */
  result: SegmentResult;
  /** What was stored, by file name. */
  storedFiles: string[];
  store: StoreResult;
  /** Where the results are stored. */
  targetUrl: string;
}

/** The DICOM files among a result's outputs: what goes back to the PACS. */
export function dicomOutputs(files: SegmentResult['files']): string[] {
  return Object.values(files).filter((f): f is string => typeof f === 'string' && f.endsWith('.dcm'));
}

/** Stores the Part-10 `files` on `target` in one STOW-RS request; returns their names and the answer. */
export async function storeDicomFiles(target: DicomWebClient, files: readonly string[]): Promise<{ files: string[]; result: StoreResult }> {
  const items: StoreItem[] = [];
  for (const file of files) {
    const sopInstanceUid = (await readDicomHeader(file)).sopInstanceUid;
    if (!sopInstanceUid) throw new CovsegError('has no SOPInstanceUID; not stored', { file });
    items.push({ name: basename(file), bytes: await readFile(file), sopInstanceUid });
  }
  return { files: items.map((i) => i.name), result: await target.store(items) };
}

export async function segmentStudy(options: SegmentStudyOptions): Promise<SegmentStudyResult> {
  const { source, studyInstanceUid } = options;
  const target = options.target ?? source;
  const progress = options.onProgress ?? (() => {});
  // A target that refuses us fails now, not after the segmentation.
  if (target !== source) await target.searchStudies({ limit: '1' });
  const work = await mkdtemp(join(tmpdir(), 'covseg-dicomweb-'));
  try {
    const ctDir = join(work, 'ct');
    await mkdir(ctDir);
    const series = await fetchCtSeries(source, studyInstanceUid, ctDir, {
      ...(options.seriesInstanceUid !== undefined ? { seriesInstanceUid: options.seriesInstanceUid } : {}),
      ...(options.maxVoxels !== undefined ? { maxVoxels: options.maxVoxels } : {}),
      onProgress: (done, total) => progress('fetch', done, total),
    });
    const { source: _s, target: _t, outDir, studyInstanceUid: _u, seriesInstanceUid: _r, onProgress: _p, ...segmentOptions } = options;
    const result = await segmentCase(ctDir, outDir ?? join(work, 'out'), {
      ...segmentOptions,
      inputName: `${source.url}/studies/${studyInstanceUid}/series/${series.seriesInstanceUid}`,
      onProgress: progress,
    });
    const outputs = dicomOutputs(result.files);
    if (outputs.length === 0) {
      const why = result.report.warnings.find((w) => /^DICOM SEG not written/.test(w)) ?? 'no DICOM output was written';
      throw new CovsegError(`nothing to store in ${target.url}: ${why}`);
    }
    progress('store', 0, 1);
    const stored = await storeDicomFiles(target, outputs);
    progress('store', 1, 1);
    return { series, result, storedFiles: stored.files, store: stored.result, targetUrl: target.url };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
