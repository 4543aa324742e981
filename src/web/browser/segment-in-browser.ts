/**
 * `covseg segment`'s pipeline (segment/pipeline.ts) on a CT the page decoded, for the
 * page's browser mode: the same checks, lung model, right/left split, lesion model and
 * report as the command, with no files written. The models come from the caller's
 * loader, so the runtime behind them (onnxruntime-web in the browser, onnxruntime-node in
 * tests) is the caller's choice.
 */
import type { LabelMap, Volume } from '../../volume/volume.js';
import { fromLps } from '../../volume/index.js';
import type { SegmentationModel } from '../../infer/segmentation-model.js';
import { covsegLungSegmenter } from '../../lungs/lung-sides.js';
import { covsegLungModelName } from '../../lungs/segmenter.js';
import type { SegmentReport } from '../../segment/report.js';
import { lesionTypesOf, segmentCt, type SegmentStage } from '../../segment/pipeline.js';
import type { InputMeta } from '../../segment/segment-volume.js';

export interface SegmentInBrowserOptions {
  /** Segment input that fails the CT checks anyway, with a warning in the report. Defaults to false. */
  force?: boolean;
  /** Called with (stage, done, total) as `covseg segment`'s onProgress is. */
  onProgress?: (stage: SegmentStage, done: number, total: number) => void;
}

/** covseg's lung model and a lesion model, loaded. */
export interface BrowserModels {
  lung: SegmentationModel;
  lesion: SegmentationModel;
  /** sha256 (hex) of the lung model's file, for its name in the report (as the service names it). Defaults to none (the name then has no hash). */
  lungSha256?: string;
}

export interface BrowserSegmentResult {
  /** The report `covseg segment` writes as report.json, without output files (`outputs` is empty). */
  report: SegmentReport;
  /** 1 = right lung, 2 = left lung, on `ct`'s grid. */
  lungs: LabelMap;
  /** 0/1 on `ct`'s grid, inside the lungs. */
  lesions: LabelMap;
  /** HU input: the lesion by type on `ct`'s grid, 1 ground glass, 2 consolidation (what segment writes as lesion-types.nii.gz). */
  lesionTypes?: LabelMap;
}

/**
 * Lungs (covseg's lung model), lesions inside them and the report numbers for `ct`, read
 * as `meta` says. `loadModels` is called once the input has passed the checks, so a
 * refused scan costs no model download.
 */
export async function segmentInBrowser(
  ct: Volume,
  meta: InputMeta,
  loadModels: () => Promise<BrowserModels>,
  options: SegmentInBrowserOptions = {},
): Promise<BrowserSegmentResult> {
  const { report, lps, transform } = await segmentCt(ct, meta, async () => {
    const models = await loadModels();
    return { lungs: covsegLungSegmenter(models.lung, covsegLungModelName(models.lung.file, models.lungSha256)), lesion: models.lesion };
  }, options);
  const lungs = fromLps(lps.lungs, transform);
  const lesions = fromLps(lps.lesions, transform);
  const lesionTypes = lesionTypesOf(ct, lungs, lesions, report);
  return { report, lungs, lesions, ...(lesionTypes ? { lesionTypes } : {}) };
}
