/**
 * The 2D database's transform for slices that come without a usable slice spacing
 * (slice sets, MedSeg's 100 slices): normalise from the slice's own 1st/99th percentiles,
 * pad to a square (centred), resize to 320 × 320 — bilinear for the image, nearest for
 * masks. Pure: arrays in, arrays out.
 */
import { centreCropOrPad, percentiles, resizeSlices, type CropBox } from '../volume/index.js';
import type { LabelMap, Volume } from '../volume/volume.js';
import { CovsegError } from '../util/errors.js';
import { HIGH_PERCENTILE, LOW_PERCENTILE, SLICE_SIZE } from './constants.js';
import { normalizeWindow, toLps } from './preprocess-case.js';
import type { CaseMasks } from './preprocess-case.js';

export interface PreprocessSliceOptions {
  /** Side of the square output in pixels. Defaults to 320. */
  size?: number;
  /** Lower normalisation percentile. Defaults to 1. */
  lowPercentile?: number;
  /** Upper normalisation percentile. Defaults to 99. */
  highPercentile?: number;
}

export interface PreprocessedSlice extends CaseMasks {
  /** Normalised image in [0, 1], shape [size, size, 1]. */
  image: Volume<Float32Array>;
  /** Where the square sits around the (LPS-oriented) slice: the padding step. */
  squareBox: CropBox;
  /** Output pixels per square pixel (size / square side). */
  scale: number;
  /** Slice values mapped to 0 and 1. */
  lowValue: number;
  highValue: number;
}

/** Preprocesses one 2D slice (dims [w, h, 1]) and its masks. */
export function preprocessSlice(slice: Volume, masks: CaseMasks = {}, options: PreprocessSliceOptions = {}): PreprocessedSlice {
  const size = options.size ?? SLICE_SIZE;
  if (slice.dims[2] !== 1) {
    throw new CovsegError(`preprocessSlice: expected one slice (nz = 1), got dims [${slice.dims.join('×')}]; use preprocessCase for volumes`);
  }
  const [lowValue, highValue] = percentiles(slice.data, [options.lowPercentile ?? LOW_PERCENTILE, options.highPercentile ?? HIGH_PERCENTILE]) as [number, number];
  // Padding goes after normalisation so that it is 0 (the image minimum maps to 0) whatever the value range.
  const normalised = normalizeWindow(toLps(slice), lowValue, highValue);
  const side = Math.max(normalised.dims[0], normalised.dims[1]);
  const { volume: square, box: squareBox } = centreCropOrPad(normalised, [side, side, 1], { padValue: 0 });
  const image = resizeSlices(square, size, size, { interpolation: 'bilinear' }) as Volume<Float32Array>;
  const out: PreprocessedSlice = { image, squareBox, scale: size / side, lowValue, highValue };
  for (const key of ['lesionMask', 'lungMask', 'lungSides'] as const) {
    const m = masks[key];
    if (!m) continue;
    if (m.dims[0] !== slice.dims[0] || m.dims[1] !== slice.dims[1] || m.dims[2] !== 1) {
      throw new CovsegError(`preprocessSlice: ${key} is ${m.dims.join('×')}, the slice ${slice.dims.join('×')}; masks must be on the slice's grid`);
    }
    const sq = centreCropOrPad(toLps(m), [side, side, 1], { padValue: 0 }).volume;
    out[key] = resizeSlices(sq, size, size, { interpolation: 'nearest' }) as LabelMap;
  }
  return out;
}

/** [0, 1] floats → 8-bit grey (round(v × 255)), the 2D database's image encoding. */
export function toGreyBytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}

/** Binary mask → 0/255 bytes, the 2D database's mask encoding (visible in any viewer). */
export function toMaskBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0 ? 255 : 0;
  return out;
}
