/**
 * `covseg segment`'s pipeline on a CT in memory, for the page's browser mode: the same
 * checks, lung model, right/left split, lesion model and report numbers as the command
 * (segment/segment-volume.ts, segment/report.ts), with no files written. The models
 * come from the caller's loader, so the runtime behind them (onnxruntime-web in the
 * browser, onnxruntime-node in tests) is the caller's choice.
 */
import type { LabelMap, Volume } from '../../volume/volume.js';
import type { SegmentationModel } from '../../infer/segmentation-model.js';
import { lungAndLesionNumbers, type SegmentReport } from '../../segment/report.js';
import type { SegmentStage } from '../../segment/segment-case.js';
import { checkInput, defaultLungModelName, findLesions, findLungsDefault, lesionModelName, qualityOf, requireLungs, type InputMeta } from '../../segment/segment-volume.js';

export interface SegmentInBrowserOptions {
  /** Segment input that fails the CT checks anyway, with a warning in the report. Defaults to false. */
  force?: boolean;
  /** Called with (stage, done, total) as `covseg segment`'s onProgress is. */
  onProgress?: (stage: SegmentStage, done: number, total: number) => void;
}

/** The default lung model and a lesion model, loaded. */
export interface BrowserModels {
  lung: SegmentationModel;
  lesion: SegmentationModel;
}

export interface BrowserSegmentResult {
  /** The report `covseg segment` writes as report.json, without output files (`outputs` is empty). */
  report: SegmentReport;
  /** 1 = right lung, 2 = left lung, on `ct`'s grid. */
  lungs: LabelMap;
  /** 0/1 on `ct`'s grid, inside the lungs. */
  lesions: LabelMap;
}

/**
 * Lungs (the default lung model), lesions inside them and the report numbers for `ct`,
 * read as `meta` says. `loadModels` is called once the input has passed the checks, so a
 * refused scan costs no model download.
 */
export async function segmentInBrowser(
  ct: Volume,
  meta: InputMeta,
  loadModels: () => Promise<BrowserModels>,
  options: SegmentInBrowserOptions = {},
): Promise<BrowserSegmentResult> {
  const progress = options.onProgress ?? (() => {});
  const timingsMs: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timingsMs[name] = Math.round(now - t);
    t = now;
  };
  const { isHu, huReason, warnings, spacingKnown } = checkInput(ct, meta, { force: options.force });
  lap('read');
  const models = await loadModels();
  lap('models');
  const found = await findLungsDefault(ct, models.lung, { onProgress: (d, n) => progress('lungs', d, n) });
  warnings.push(...found.warnings);
  lap('lungs');
  requireLungs(found.lungs, meta);
  const { lungs, lesions } = await findLesions(ct, found.lungs, models.lesion, { turns: found.turns, isHu, onProgress: (d, n) => progress('lesions', d, n) });
  lap('lesions');
  progress('report', 0, 1);
  const numbers = lungAndLesionNumbers(lungs, lesions, spacingKnown, qualityOf(ct, lungs, meta, { isHu, spacingKnown }));
  lap('report');
  progress('report', 1, 1);
  const report: SegmentReport = {
    format: 'covseg-report',
    version: 1,
    createdAt: new Date().toISOString(),
    input: { path: meta.path, format: meta.format, dims: ct.dims, spacingMm: ct.spacingMm, spacingKnown, isHu, huReason, ...(meta.modality ? { modality: meta.modality } : {}) },
    ...numbers,
    models: { lung: defaultLungModelName(models.lung.file), lesion: lesionModelName(models.lesion) },
    outputs: {},
    timingsMs,
    warnings,
  };
  return { report, lungs, lesions };
}
