/**
 * How a 2D model's input is made from a CT slice, identically in training and in
 * inference (and in the browser). The 2D training slices are 8-bit exports with their
 * own contrast processing (the Zenodo slices are min–max scaled and CLAHE-enhanced;
 * COVID-SemiSeg JPEGs are lung-windowed); real scans arrive in Hounsfield units.
 *
 * Every slice is first brought to the 2D database's representation — a 320×320 square
 * (bilinear) scaled to [0,1] between its 1st and 99th percentiles — because that is
 * what the models learn from: a 256² export resized to 320² is smoother than the same
 * export at its own size, and CLAHE amplifies exactly that difference (measured: the
 * lung model's Dice on a noisy 256² Zenodo slice was 0.35 read as stored, 0.98 read at
 * 320²). Then adaptive histogram equalisation, which depends mostly on the rank order of
 * intensities within each tile, maps HU scans and 8-bit exports to similar inputs.
 */
import { clahe, percentiles, resizeSlice } from '../volume/index.js';
import { HIGH_PERCENTILE, LOW_PERCENTILE, SLICE_SIZE } from './constants.js';

/**
 * Input transforms, by the name stored in a model's metadata (`covseg.inputTransform`);
 * both start from the database representation (320², [0,1] from the 1st/99th percentiles):
 * - 'clahe-v1': CLAHE (8×8 tiles, clip limit 2, 256 bins) at 320², then bilinear resize
 *   to the model's input.
 * - 'clahe-v2': bilinear resize to the model's input, then CLAHE with clip limit 40
 *   (OpenCV's default). Inside the lungs, clip 40 makes a Hounsfield-unit slice and its
 *   8-bit lung-window export 2× closer than clip 2 does (mean |Δ| 0.029 vs 0.058, measured
 *   on the bundled DICOM slice), and resizing first lets training augment intensities
 *   before the equalisation, as unseen exports differ there.
 */
export type SliceInputTransform = 'clahe-v1' | 'clahe-v2';
export const SLICE_INPUT_TRANSFORMS: readonly SliceInputTransform[] = ['clahe-v1', 'clahe-v2'];

const CLIP_LIMIT: Record<SliceInputTransform, number> = { 'clahe-v1': 2, 'clahe-v2': 40 };

/** Scales a slice to [0,1] between its 1st and 99th percentiles (a constant slice gives 0), as the database does. */
export function scaleSlice(slice: ArrayLike<number> & { length: number }): Float32Array {
  const values = slice instanceof Float32Array ? slice : Float32Array.from(slice);
  const [lo, hi] = percentiles(values, [LOW_PERCENTILE, HIGH_PERCENTILE]) as [number, number];
  const scaled = new Float32Array(values.length);
  const range = hi - lo;
  if (range > 0) for (let i = 0; i < values.length; i++) scaled[i] = Math.min(1, Math.max(0, (values[i]! - lo) / range));
  return scaled;
}

function resizeTo(image: Float32Array, width: number, height: number, size: number): Float32Array {
  if (width === size && height === size) return image;
  return resizeSlice(image, width, height, size, size, { interpolation: 'bilinear' }) as Float32Array;
}

/**
 * The part of the transform before the final equalisation, on a square slice
 * (`width` = `height`; callers pad non-square slices first): for 'clahe-v2', the
 * database representation resized to `size`² (training stores this and augments
 * intensities on it); for 'clahe-v1', the complete input.
 */
export function sliceToModelStage1(slice: ArrayLike<number> & { length: number }, width: number, height: number, size: number, transform: SliceInputTransform): Float32Array {
  const db = scaleSlice(resizeTo(slice instanceof Float32Array ? slice : Float32Array.from(slice), width, height, SLICE_SIZE));
  if (transform === 'clahe-v1') return resizeTo(clahe(db, SLICE_SIZE, SLICE_SIZE, { tiles: [8, 8], clipLimit: CLIP_LIMIT[transform], bins: 256 }), SLICE_SIZE, SLICE_SIZE, size);
  return resizeTo(db, SLICE_SIZE, SLICE_SIZE, size);
}

/** The rest of the transform, on a `size`² stage-1 image (identity for 'clahe-v1'). */
export function sliceToModelStage2(stage1: Float32Array, size: number, transform: SliceInputTransform): Float32Array {
  if (transform === 'clahe-v1') return stage1;
  return clahe(stage1, size, size, { tiles: [8, 8], clipLimit: CLIP_LIMIT[transform], bins: 256 });
}

/**
 * Turns one square slice (any intensity scale; `width`×`height`, x fastest) into the
 * model's input: Float32Array of `size`×`size` values in [0, 1].
 */
export function sliceToModelInput(
  slice: ArrayLike<number> & { length: number },
  width: number,
  height: number,
  size: number,
  transform: SliceInputTransform = 'clahe-v1',
): Float32Array {
  if (!SLICE_INPUT_TRANSFORMS.includes(transform)) throw new Error(`unknown slice input transform '${transform as string}'; known: ${SLICE_INPUT_TRANSFORMS.join(', ')}`);
  return sliceToModelStage2(sliceToModelStage1(slice, width, height, size, transform), size, transform);
}
