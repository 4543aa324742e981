/**
 * Image files (PNG/JPEG slices) carry no geometry, and exports store slices rotated by
 * quarter turns (COVID-SemiSeg's JPEGs lie on their side). For such inputs the lung
 * model is run on the four quarter turns and the turn where it finds the most lung is
 * used — only when clearly better than the slice as stored, so that a slice already in
 * the usual orientation (anterior up) stays as it is.
 */
import { createVolume, type Volume, type VoxelArray } from '../volume/volume.js';
import { predictSlices } from './slice-inferer.js';
import type { SegmentationModel } from './segmentation-model.js';

/** A rotated orientation must find this much more lung than the stored one to be used. */
export const ORIENTATION_MARGIN = 1.15;

/** True for a slice read from an image file: one slice, 1 mm pixels, no origin, identity direction. */
export function hasNoGeometry(vol: Volume): boolean {
  return vol.dims[2] === 1 && vol.spacingMm.every((s) => s === 1) && vol.origin.every((o) => o === 0) && vol.direction.every((d, i) => d === (i % 4 === 0 ? 1 : 0));
}

/**
 * A single-slice volume turned counter-clockwise (on screen) by `turns` quarter turns
 * (negative turns go back). Zero turns return `slice` itself; otherwise the result has
 * identity geometry with x/y spacing swapped as needed: an intermediate, not anchored in
 * patient space.
 */
export function quarterTurn<T extends VoxelArray>(slice: Volume<T>, turns: number): Volume<T> {
  const t = ((turns % 4) + 4) % 4;
  if (t === 0) return slice;
  let [w, h] = slice.dims;
  let data = slice.data;
  let [sx, sy] = slice.spacingMm;
  for (let k = 0; k < t; k++) {
    const out = new (data.constructor as new (n: number) => T)(w * h);
    // Destination (x, y) of a counter-clockwise turn reads source (w − 1 − y, x); the new width is h.
    for (let y = 0; y < w; y++) for (let x = 0; x < h; x++) out[y * h + x] = data[x * w + (w - 1 - y)]!;
    data = out;
    [w, h] = [h, w];
    [sx, sy] = [sy, sx];
  }
  return createVolume(data, [w, h, 1], { spacingMm: [sx, sy, slice.spacingMm[2]] });
}

/** The quarter turn (0–3) under which `lungModel` finds the most confident lung in `slice`. */
export async function chooseSliceTurns(lungModel: SegmentationModel, slice: Volume, margin = ORIENTATION_MARGIN): Promise<number> {
  const scores: number[] = [];
  for (let t = 0; t < 4; t++) {
    const prob = (await predictSlices(lungModel, quarterTurn(slice, t))).data;
    let score = 0;
    for (let i = 0; i < prob.length; i++) if (prob[i]! > lungModel.spec.threshold) score += prob[i]!;
    scores.push(score);
  }
  const best = scores.indexOf(Math.max(...scores));
  return scores[best]! > margin * scores[0]! ? best : 0;
}
