/**
 * lungmask R231 end to end in TypeScript: reorient to LPS → per-slice pre-processing →
 * the U-Net (ONNX Runtime, batches of slices) → argmax → post-processing → labels back
 * into each body box → original orientation. The label map has the input's exact
 * geometry: 1 = right lung, 2 = left lung (R231, R231CovidWeb), or the five lobes
 * (LTRCLobes: 1 left upper, 2 left lower, 3 right upper, 4 right middle, 5 right lower).
 */
import { requireHu } from './hu-check.js';
import { readStateDict } from '../nn/torch-pth/index.js';
import { CovsegError } from '../util/errors.js';
import { asLps, checkHu, fromLps } from '../volume/index.js';
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { R231Session } from './r231-network.js';
import { postprocessR231 } from './r231-postprocess.js';
import { labelsToSlices, preprocessR231, R231_INPUT_SIZE } from './r231-preprocess.js';

/** lungmask's default number of slices per network call. */
export const R231_BATCH_SIZE = 20;

export interface SegmentLungsR231Options {
  /** The lungmask weights (`unet_r231-d5d2fc3d.pth` or another lungmask U-Net). Required unless `session` is given. */
  weightsPath?: string;
  /** An opened network, to reuse across cases (then `weightsPath` and `threads` are not used). Defaults to opening `weightsPath`. */
  session?: R231Session;
  /** Classes the weights must have (3 for R231/R231CovidWeb, 6 for LTRCLobes). Defaults to whatever the weights have. */
  expectedClasses?: number;
  /** Slices per network call. Defaults to 20, as lungmask. */
  batchSize?: number;
  /** ONNX Runtime threads. Defaults to 2. */
  threads?: number;
  /** lungmask's post-processing (small-component relabelling, largest component, hole filling). Defaults to true. */
  postprocess?: boolean;
  /**
   * What to do when the CT does not look like Hounsfield units (lungmask then returns an
   * empty mask without a word, its most reported failure):
   * - `'error'`: throw, naming what the values look like.
   * - `'warn'`: call `onWarning` and go on.
   * - `'off'`: no check (the caller has made it, as the lung model registry does for every model).
   * Defaults to 'error'.
   */
  huCheck?: 'error' | 'warn' | 'off';
  /**
   * What to do when no lung voxel is found:
   * - `'error'`: throw with the likely causes.
   * - `'warn'`: call `onWarning` and return the empty label map.
   * Defaults to 'error'.
   */
  emptyResult?: 'error' | 'warn';
  /** Receives warnings. Defaults to writing them to stderr. */
  onWarning?: (message: string) => void;
  /** Called after each batch with (slices done, total slices). Defaults to none. */
  onProgress?: (done: number, total: number) => void;
}

/** Lung (or lobe) labels of `ct` with lungmask's U-Net, on `ct`'s grid. */
export async function segmentLungsR231(ct: Volume, options: SegmentLungsR231Options = {}): Promise<LabelMap> {
  const warn = options.onWarning ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`));
  const hu = requireHu(ct, 'lungmask R231', { huCheck: options.huCheck, onWarning: warn });

  const batchSize = options.batchSize ?? R231_BATCH_SIZE;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new CovsegError(`segmentLungsR231: batchSize must be a positive integer, got ${batchSize}`);
  let session = options.session;
  if (!session) {
    if (!options.weightsPath) throw new CovsegError('segmentLungsR231: pass weightsPath (the lungmask .pth file) or an opened session');
    session = await R231Session.create(await readStateDict(options.weightsPath), { file: options.weightsPath, threads: options.threads });
  }
  try {
    if (options.expectedClasses !== undefined && session.classes !== options.expectedClasses) {
      throw new CovsegError(
        `the weights have ${session.classes} classes, this model needs ${options.expectedClasses} (R231 and R231CovidWeb have 3, LTRCLobes 6); pick the model that matches the file`,
        options.weightsPath ? { file: options.weightsPath } : {},
      );
    }
    const { volume: lps, transform } = asLps(ct);
    const pre = preprocessR231(lps);
    const labels = await predictLabelsR231(pre.input, { session, batchSize, onProgress: options.onProgress });
    const post = (options.postprocess ?? true) ? postprocessR231(labels, [R231_INPUT_SIZE, R231_INPUT_SIZE, lps.dims[2]]) : labels;
    const lpsLabels = createVolume(labelsToSlices(post, pre.crops), lps.dims, lps);
    const out = fromLps(lpsLabels, transform) as LabelMap;
    if (!out.data.some((v) => v !== 0)) {
      const message =
        `no lung found in ${ct.dims[2]} slices (${(hu ?? checkHu(ct)).reason}). Likely causes: the scan does not cover the chest, ` +
        'it is not an axial CT, or its intensities are not Hounsfield units';
      if ((options.emptyResult ?? 'error') === 'error') throw new CovsegError(message);
      warn(message);
    }
    return out;
  } finally {
    if (!options.session) await session.release();
  }
}

export interface PredictLabelsR231Options {
  /** The opened network. */
  session: R231Session;
  /** Slices per network call. Defaults to 20. */
  batchSize?: number;
  /** Called after each batch with (slices done, total slices). Defaults to none. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs the network over normalised slices `input` of shape [count, 1, 256, 256] in batches
 * and returns the argmax labels, shape [count, 256, 256] (ties → the lower class, as
 * torch.max).
 */
export async function predictLabelsR231(input: Float32Array, options: PredictLabelsR231Options): Promise<Uint8Array> {
  const { session } = options;
  const batchSize = options.batchSize ?? R231_BATCH_SIZE;
  const plane = R231_INPUT_SIZE * R231_INPUT_SIZE;
  if (input.length % plane !== 0) throw new CovsegError(`predictLabelsR231: input has ${input.length} values, not a whole number of ${R231_INPUT_SIZE} × ${R231_INPUT_SIZE} slices`);
  const count = input.length / plane;
  const classes = session.classes;
  const labels = new Uint8Array(count * plane);
  for (let first = 0; first < count; first += batchSize) {
    const n = Math.min(batchSize, count - first);
    const logp = await session.logProbabilities(input.subarray(first * plane, (first + n) * plane), n, R231_INPUT_SIZE, R231_INPUT_SIZE);
    for (let s = 0; s < n; s++) {
      const base = s * classes * plane;
      const out = (first + s) * plane;
      for (let p = 0; p < plane; p++) {
        let best = 0;
        let bestValue = logp[base + p]!;
        for (let c = 1; c < classes; c++) {
          const v = logp[base + c * plane + p]!;
          if (v > bestValue) {
            bestValue = v;
            best = c;
          }
        }
        labels[out + p] = best;
      }
    }
    options.onProgress?.(first + n, count);
  }
  return labels;
}
