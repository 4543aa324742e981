/**
 * The method's 3D preprocessing: reorient to LPS, resample to 0.9 × 0.9 × 4.5 mm (linear
 * for CT, label-aware for masks), centre crop/pad to 320 × 320 × 80, normalise the CT to
 * [0, 1] from its 1st and 99th percentiles. Pure: volumes in, volumes out.
 *
 * Inverse, for predictions made on the preprocessed grid: `pasteBack(pred, box)` puts them
 * on the resampled grid (`box.sourceGeometry`), then `resampleToGrid(…, originalGeometry,
 * { interpolation: 'label' })` on the CT's own grid (any orientation).
 */
import { centreCropOrPad, orientationCode, percentiles, reorientToLps, resample, windowLevel, type CropBox } from '../volume/index.js';
import { geometryOf, type LabelMap, type Vec3, type Volume, type VolumeGeometry } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { AIR_HU, HIGH_PERCENTILE, LOW_PERCENTILE, TARGET_DIMS, TARGET_SPACING_MM } from './constants.js';

export interface PreprocessCaseOptions {
  /** Output voxel size [x, y, z] in mm. Defaults to [0.9, 0.9, 4.5]. */
  spacingMm?: Vec3;
  /** Output grid [nx, ny, nz]. Defaults to [320, 320, 80]. */
  dims?: Vec3;
  /** Lower normalisation percentile of the CT. Defaults to 1. */
  lowPercentile?: number;
  /** Upper normalisation percentile of the CT. Defaults to 99. */
  highPercentile?: number;
  /**
   * Whether the CT is in Hounsfield units: HU CT is padded with air (−1024 HU), any other
   * CT (0–255 windowed exports) with its own minimum. Defaults to true.
   */
  isHu?: boolean;
  /**
   * The CT's minimum and its values at the low/high percentiles, when already computed
   * (the HU check computes min, p1 and p99): saves a pass over a 78M-voxel CT. Defaults to
   * computing them.
   */
  intensity?: { min: number; low: number; high: number };
}

/** Masks on the CT's grid; each present one comes back preprocessed. */
export interface CaseMasks {
  /** 1 = lesion. */
  lesionMask?: LabelMap;
  /** 1 = lung ∪ lesion. */
  lungMask?: LabelMap;
  /** 1 = right lung, 2 = left lung. */
  lungSides?: LabelMap;
}

export interface PreprocessStats {
  /** The CT's grid before preprocessing (as stored, before reorientation). */
  originalGeometry: VolumeGeometry;
  /** CT values mapped to 0 and 1 (its low and high percentiles). */
  lowValue: number;
  highValue: number;
  /** The CT value used for voxels outside the original field of view. */
  padValue: number;
  /** Milliseconds per stage. */
  timingsMs: { reorient: number; resample: number; crop: number; normalize: number };
}

export interface PreprocessedCase extends CaseMasks {
  /** Normalised CT in [0, 1] on the output grid (LPS-oriented). */
  image: Volume<Float32Array>;
  /** Where the output grid sits in the resampled grid (`box.sourceGeometry`), to paste predictions back. */
  box: CropBox;
  stats: PreprocessStats;
}

/**
 * Preprocesses one CT and its masks. Percentiles are taken over the original CT's voxels
 * (as the method's code normalised before resampling); the clip-and-scale is applied after
 * cropping, where there are ~10× fewer voxels.
 */
export function preprocessCase(ct: Volume, masks: CaseMasks = {}, options: PreprocessCaseOptions = {}): PreprocessedCase {
  const spacingMm = options.spacingMm ?? TARGET_SPACING_MM;
  const dims = options.dims ?? TARGET_DIMS;
  const low = options.lowPercentile ?? LOW_PERCENTILE;
  const high = options.highPercentile ?? HIGH_PERCENTILE;
  if (!(low >= 0 && low < high && high <= 100)) {
    throw new CovsegError(`preprocessCase: percentiles must satisfy 0 ≤ low < high ≤ 100, got ${low} and ${high}`);
  }
  for (const [name, mask] of Object.entries(masks) as [string, LabelMap | undefined][]) {
    if (mask && mask.dims.some((d, i) => d !== ct.dims[i])) {
      throw new CovsegError(`preprocessCase: ${name} grid [${mask.dims.join('×')}] differs from the CT's [${ct.dims.join('×')}]; bring it onto the CT's grid first (resampleToGrid)`);
    }
  }
  const t0 = performance.now();
  const oriented = toLps(ct);
  const orientedMasks: CaseMasks = {};
  for (const key of MASK_KEYS) {
    const m = masks[key];
    if (m) orientedMasks[key] = toLps(m);
  }
  const t1 = performance.now();
  const padValue = (options.isHu ?? true) ? AIR_HU : options.intensity?.min ?? minimumOf(ct.data);
  const resampled = resample(oriented, { spacingMm, interpolation: 'linear', fillValue: padValue });
  const resampledMasks: CaseMasks = {};
  for (const key of MASK_KEYS) {
    const m = orientedMasks[key];
    if (m) resampledMasks[key] = resample(m, { spacingMm, interpolation: 'label', fillValue: 0 }) as LabelMap;
  }
  const t2 = performance.now();
  const { volume: cropped, box } = centreCropOrPad(resampled, dims, { padValue });
  const croppedMasks: CaseMasks = {};
  for (const key of MASK_KEYS) {
    const m = resampledMasks[key];
    if (m) croppedMasks[key] = centreCropOrPad(m, dims, { padValue: 0 }).volume;
  }
  const t3 = performance.now();
  const [lowValue, highValue] = options.intensity ? [options.intensity.low, options.intensity.high] : (percentiles(ct.data, [low, high]) as [number, number]);
  const image = normalizeWindow(cropped, lowValue, highValue);
  const t4 = performance.now();
  const stats: PreprocessStats = {
    originalGeometry: geometryOf(ct),
    lowValue,
    highValue,
    padValue,
    timingsMs: { reorient: t1 - t0, resample: t2 - t1, crop: t3 - t2, normalize: t4 - t3 },
  };
  return { image, box, stats, ...croppedMasks };
}

const MASK_KEYS = ['lesionMask', 'lungMask', 'lungSides'] as const;

/** HU CT is padded with air; other CT (0–255 exports) with its own minimum, its darkest value. */
function minimumOf(data: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < data.length; i++) if (data[i]! < min) min = data[i]!;
  return min;
}

/** The volume on LPS-ordered axes; unchanged (no copy) when it already is. */
export function toLps<T extends Volume>(vol: T): T {
  return orientationCode(vol.direction) === 'LPS' ? vol : (reorientToLps(vol).volume as T);
}

/** Clip to [low, high] and scale to [0, 1]; a constant CT (low = high) becomes all zeros, never NaN. */
export function normalizeWindow(vol: Volume, low: number, high: number): Volume<Float32Array> {
  if (!(high > low)) {
    return { ...geometryOf(vol), data: new Float32Array(vol.data.length) };
  }
  return windowLevel(vol, { lowHu: low, highHu: high });
}
