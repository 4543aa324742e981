/**
 * The default lung model's work once the model is loaded: probabilities → mask → the
 * anatomy's rules (anatomy.ts) → right/left label map, image files read the way round the
 * lungs are found best. No file or Node access here (the model comes in as a
 * `SegmentationModel`, whatever runtime backs it), so the web page's browser mode runs this
 * very code over onnxruntime-web; default-model.ts and the registry (models.ts) add the model file.
 */
import { createVolume, type LabelMap, type Volume } from '../volume/volume.js';
import { asLps, checkHu, closeDisk2d, connectedComponents, fillHoles, fromLps } from '../volume/index.js';
import type { SegmentationModel } from '../infer/segmentation-model.js';
import { predictSlices, threshold } from '../infer/slice-inferer.js';
import { chooseSliceTurns, hasNoGeometry, quarterTurn } from '../infer/slice-orientation.js';
import { restrictToBody } from './body-mask.js';
import { anatomicalLungs, splitTouchingLungs, type AnatomyRemoved } from './anatomy.js';
import type { LungRunOptions, LungSegmenter } from './segmenter.js';
import { CovsegError } from '../util/errors.js';

export interface LungsFromModelOptions {
  /** Slices per batch. Defaults to 8. */
  batchSize?: number;
  /** Whether `ct` is in Hounsfield units, when the caller has checked (the body mask maps other values first). Defaults to checking. */
  isHu?: boolean;
  /** Called after each batch with (slices done, slices total). */
  onProgress?: (done: number, total: number) => void;
  /** Told what the anatomy's rules removed and kept (scans with geometry in HU only), for the quality block. Defaults to none. */
  onAnatomy?: (removed: AnatomyRemoved) => void;
}

/** Lung label map on `ct`'s grid (1 = right lung, 2 = left lung) from `model`, slices as stored. */
export async function lungsFromModel(ct: Volume, model: SegmentationModel, options: LungsFromModelOptions = {}): Promise<LabelMap> {
  const prob = await predictSlices(model, ct, { batchSize: options.batchSize, onProgress: options.onProgress });
  return lungSidesFor(ct, threshold(prob, model.spec.threshold), options.isHu, options.onAnatomy);
}

/**
 * A model's binary lung mask → right/left lungs. Scans with geometry in Hounsfield units
 * get the anatomy's rules (anatomy.ts). Image files are often cropped to the lungs, which
 * then touch the border and fall outside lungmask's body mask, and their grey levels are
 * not Hounsfield units: they get the sides only. Input forced through in other units gets
 * the body restriction and the sides. `isHu`: the caller's HU check, when it made one;
 * `onAnatomy` is told what the anatomy's rules removed.
 */
export function lungSidesFor(ct: Volume, mask: LabelMap, isHu?: boolean, onAnatomy?: (removed: AnatomyRemoved) => void): LabelMap {
  if (hasNoGeometry(ct)) return splitLungSides(mask);
  const hu = isHu ?? checkHu(ct).isHu;
  if (!hu) return splitLungSides(restrictToBody(mask, ct, { isHu: hu }));
  const { lungs, removed } = anatomicalLungs(ct, mask);
  onAnatomy?.(removed);
  return lungs;
}

export interface LungsWithModelOptions extends LungsFromModelOptions {
  /**
   * 'as-stored': the slices as they are; 'search': a single slice is tried in its four
   * quarter turns and read in the one where the most lung is found (see
   * infer/slice-orientation.ts). Defaults to 'search' for image files (no geometry),
   * else 'as-stored'.
   */
  orientation?: 'as-stored' | 'search';
}

/** Lung label map on `ct`'s grid (1 = right lung, 2 = left lung) from `model`; an image file lying on its side is read turned. */
export async function lungsWithModel(ct: Volume, model: SegmentationModel, options: LungsWithModelOptions = {}): Promise<LabelMap> {
  if ((options.orientation ?? (hasNoGeometry(ct) ? 'search' : 'as-stored')) === 'search' && ct.dims[2] === 1) {
    const turns = await chooseSliceTurns(model, ct);
    if (turns !== 0) {
      const labels = await lungsFromModel(quarterTurn(ct, turns), model, options);
      return createVolume(quarterTurn(labels, -turns).data, ct.dims, ct);
    }
  }
  return lungsFromModel(ct, model, options);
}

/**
 * covseg's own lung model, loaded, as a {@link LungSegmenter} named `name`
 * ({@link covsegLungModelName}); `defaults` are the run settings a call leaves out.
 * An empty mask is never silent (lungmask's most reported failure).
 */
export function covsegLungSegmenter(model: SegmentationModel, name: string, defaults: LungRunOptions = {}): LungSegmenter {
  return {
    name,
    classes: ['background', 'right lung', 'left lung'],
    async segment(ct, call = {}) {
      const run = { ...defaults, ...call };
      const labels = await lungsWithModel(ct, model, { batchSize: run.batchSize, isHu: run.hu?.isHu, orientation: run.orientation, onProgress: run.onProgress, onAnatomy: run.onAnatomy });
      if (!labels.data.some((v) => v !== 0)) {
        const message = 'no lung was found: is this a chest CT with axial slices through the lungs?';
        if ((run.emptyResult ?? 'error') === 'error') throw new CovsegError(message, run.file ? { file: run.file } : {});
        (run.onWarning ?? ((m: string) => void process.stderr.write(`warning: ${m}\n`)))(message);
      }
      return labels;
    },
    chooseTurns: (slice) => chooseSliceTurns(model, slice),
    release: () => model.onnx.release(),
  };
}

/** Components smaller than this fraction of all lung voxels are dropped as noise. */
const MIN_COMPONENT_FRACTION = 0.01;
/** A second component at least this fraction of the largest is the other lung. */
const SECOND_LUNG_FRACTION = 0.15;
/**
 * Dense disease at the pleura (consolidation against the chest wall, the spine or the
 * mediastinum) is as dense as the wall, so a model that finds lung by its darkness leaves a
 * bite in the lung's outline there. The lung's outline is smooth, so each side's mask is
 * closed per slice with a rolling ball (the juxtapleural-nodule rule of Armato et al., Med
 * Phys 1999) whose radius is this share of √(the side's area in that slice), about a
 * twentieth of the lung's width: it scales with the lung, since image files carry no pixel
 * size. Chosen on the Zenodo train and validation groups (0.05 / 0.1 / 0.15; larger balls
 * fill the heart's and the diaphragm's impressions and cost lung Dice).
 */
export const ROLLING_BALL_SHARE = 0.1;
/**
 * Holes up to this share of the side's area in the slice are filled (vessels, lesions and
 * airways inside the lung are lung); a larger enclosed region is an organ ringed by lung in
 * one slice (the liver dome or the heart under a curved base), which stays out.
 */
export const MAX_HOLE_SHARE = 0.1;

/**
 * Binary lung mask → 1 = right lung, 2 = left lung. In LPS orientation x grows towards the
 * patient's left, so of the two largest components the one with the smaller mean x is the
 * right lung; smaller pieces join the side whose centroid is nearer. When the lungs touch
 * (one large component), each axial slice is split at the emptiest column of its middle
 * part. Then each side per slice: bites at the pleura closed with a rolling ball
 * ({@link ROLLING_BALL_SHARE}; never into the other side) and holes filled
 * ({@link MAX_HOLE_SHARE}).
 */
export function splitLungSides(mask: LabelMap): LabelMap {
  const { volume: lps, transform } = asLps(mask);
  const [nx, ny, nz] = lps.dims;
  const connectivity = nz === 1 ? 8 : 26;
  const { labels, sizes } = connectedComponents(lps.data, lps.dims, { connectivity });
  const total = sizes.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(lps.data.length);
  if (total === 0) return fromLps(createVolume(out, lps.dims, lps), transform) as LabelMap;
  // Mean x of every component.
  const sumX = new Float64Array(sizes.length);
  for (let i = 0; i < labels.length; i++) if (labels[i]) sumX[labels[i]!] += i % nx;
  const kept = sizes.map((s, k) => ({ k, size: s, x: sumX[k]! / Math.max(1, s) })).filter((c) => c.k > 0 && c.size >= MIN_COMPONENT_FRACTION * total).sort((a, b) => b.size - a.size);
  const [first, second] = kept;
  const side = new Uint8Array(sizes.length);
  if (first && second && second.size >= SECOND_LUNG_FRACTION * first.size) {
    const [right, left] = first.x < second.x ? [first, second] : [second, first];
    for (const c of kept) side[c.k] = Math.abs(c.x - right.x) <= Math.abs(c.x - left.x) ? 1 : 2;
    for (let i = 0; i < labels.length; i++) out[i] = side[labels[i]!]!;
  } else if (first) {
    for (const c of kept) side[c.k] = 1;
    splitTouchingLungs(labels, side, nx, ny, nz, out);
  }
  const plane = nx * ny;
  const spacing: [number, number] = [lps.spacingMm[0], lps.spacingMm[1]];
  const filled = new Uint8Array(out.length);
  const one = new Uint8Array(plane);
  for (let z = 0; z < nz; z++) {
    const slice = out.subarray(z * plane, (z + 1) * plane);
    for (const label of [1, 2]) {
      let area = 0;
      for (let i = 0; i < plane; i++) area += one[i] = slice[i] === label ? 1 : 0;
      if (!area) continue;
      const closed = closeDisk2d(one, nx, ny, spacing, ROLLING_BALL_SHARE * Math.sqrt(area * spacing[0] * spacing[1]));
      for (let i = 0; i < plane; i++) if (slice[i] && slice[i] !== label) closed[i] = 0;
      const whole = fillHoles(closed, [nx, ny, 1], { plane: '2d', maxHoleSize: MAX_HOLE_SHARE * area });
      for (let i = 0, j = z * plane; i < plane; i++, j++) if (whole[i] && !filled[j]) filled[j] = label;
    }
  }
  return fromLps(createVolume(filled, lps.dims, lps), transform) as LabelMap;
}
