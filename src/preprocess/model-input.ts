/**
 * How a 2D model's input is made from a CT slice, identically in training and in
 * inference (and in the browser). The 2D training slices are 8-bit exports with their
 * own contrast processing (the Zenodo slices are min–max scaled and CLAHE-enhanced;
 * COVID-SemiSeg JPEGs are lung-windowed); real scans arrive in Hounsfield units. CLAHE
 * depends almost only on the rank order of intensities within each tile, so applying it
 * to every input maps all of these to nearly the same distribution.
 */
import { clahe, percentiles, resizeSlice } from '../volume/index.js';

/**
 * Input transforms, by the name stored in a model's metadata (`covseg.inputTransform`):
 * - 'clahe-v1': scale the slice to [0,1] between its 0.5th and 99.5th percentiles, CLAHE
 *   (8×8 tiles, clip limit 2, 256 bins), bilinear resize to the model's square input.
 */
export type SliceInputTransform = 'clahe-v1';
export const SLICE_INPUT_TRANSFORMS: readonly SliceInputTransform[] = ['clahe-v1'];

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
  if (transform !== 'clahe-v1') throw new Error(`unknown slice input transform '${transform as string}'; known: ${SLICE_INPUT_TRANSFORMS.join(', ')}`);
  const values = slice instanceof Float32Array ? slice : Float32Array.from(slice);
  const [lo, hi] = percentiles(values, [0.5, 99.5]) as [number, number];
  const scaled = new Float32Array(values.length);
  const range = hi - lo;
  if (range > 0) for (let i = 0; i < values.length; i++) scaled[i] = Math.min(1, Math.max(0, (values[i]! - lo) / range));
  const enhanced = clahe(scaled, width, height, { tiles: [8, 8], clipLimit: 2, bins: 256 });
  if (width === size && height === size) return enhanced;
  return resizeSlice(enhanced, width, height, size, size, { interpolation: 'bilinear' }) as Float32Array;
}
