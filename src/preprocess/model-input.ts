/**
 * How a 2D model's input is made from a CT slice, identically in training and in
 * inference (and in the browser). The 2D training slices are 8-bit exports with their
 * own contrast processing (the Zenodo slices are min–max scaled and CLAHE-enhanced;
 * COVID-SemiSeg JPEGs are lung-windowed); real scans arrive in Hounsfield units.
 * Adaptive histogram equalisation depends mostly on the rank order of intensities within
 * each tile, so applying it to every input maps all of these to similar distributions.
 */
import { clahe, percentiles, resizeSlice } from '../volume/index.js';

/**
 * Input transforms, by the name stored in a model's metadata (`covseg.inputTransform`):
 * - 'clahe-v1': scale to [0,1] between the slice's 0.5th and 99.5th percentiles, CLAHE
 *   (8×8 tiles, clip limit 2) at the slice's own size, bilinear resize to the model's input.
 * - 'clahe-v2': scale as v1, bilinear resize to the model's input, then CLAHE with clip
 *   limit 40 (OpenCV's default). Inside the lungs, clip 40 makes a Hounsfield-unit slice
 *   and its 8-bit lung-window export 2× closer than clip 2 does (mean |Δ| 0.029 vs 0.058,
 *   measured on the bundled DICOM slice), and resizing first lets training augment
 *   intensities before the equalisation, as unseen exports differ there.
 */
export type SliceInputTransform = 'clahe-v1' | 'clahe-v2';
export const SLICE_INPUT_TRANSFORMS: readonly SliceInputTransform[] = ['clahe-v1', 'clahe-v2'];

const CLIP_LIMIT: Record<SliceInputTransform, number> = { 'clahe-v1': 2, 'clahe-v2': 40 };

/** Scales a slice to [0,1] between its 0.5th and 99.5th percentiles (a constant slice gives 0). */
export function scaleSlice(slice: ArrayLike<number> & { length: number }): Float32Array {
  const values = slice instanceof Float32Array ? slice : Float32Array.from(slice);
  const [lo, hi] = percentiles(values, [0.5, 99.5]) as [number, number];
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
 * The part of the transform before equalisation: for 'clahe-v2', the scaled slice
 * resized to `size`² (training stores this and augments intensities on it); for
 * 'clahe-v1', the complete input (equalisation happens before resizing).
 */
export function sliceToModelStage1(slice: ArrayLike<number> & { length: number }, width: number, height: number, size: number, transform: SliceInputTransform): Float32Array {
  const scaled = scaleSlice(slice);
  if (transform === 'clahe-v1') return resizeTo(clahe(scaled, width, height, { tiles: [8, 8], clipLimit: CLIP_LIMIT[transform], bins: 256 }), width, height, size);
  return resizeTo(scaled, width, height, size);
}

/** The rest of the transform, on a `size`² stage-1 image (identity for 'clahe-v1'). */
export function sliceToModelStage2(stage1: Float32Array, size: number, transform: SliceInputTransform): Float32Array {
  if (transform === 'clahe-v1') return stage1;
  return clahe(stage1, size, size, { tiles: [8, 8], clipLimit: CLIP_LIMIT[transform], bins: 256 });
}

/**
 * Turns one slice (any intensity scale; `width`×`height`, x fastest) into the model's
 * input: Float32Array of `size`×`size` values in [0, 1].
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
