/**
 * CT slices as pictures, and masks drawn over them: lungs (Figure 1 colours),
 * lesions, and prediction-versus-reference comparisons (TP/FP/FN, as in the
 * method's Figures 5 and 6).
 *
 * Slices and masks are 2D arrays of shape [height, width] (x fastest, rows top to
 * bottom): for a `Volume`, axial slice z is
 * `vol.data.subarray(z * nx * ny, (z + 1) * nx * ny)` with width nx, height ny.
 */
import { CovsegError } from '../util/errors.js';
import { percentiles } from '../volume/intensity.js';
import type { Rgb } from './colors.js';
import { FALSE_NEGATIVE, FALSE_POSITIVE, IMAGE_BACKGROUND, IMAGE_TEXT, TRUE_POSITIVE } from './colors.js';
import { blendChannel, blit, createImage, cloneImage, type RgbImage } from './canvas.js';
import { legendStrip } from './legend.js';

/** The lung window in HU used for lesion figures: GGO and consolidation stay distinct from aerated lung. */
export const LUNG_WINDOW_HU: readonly [number, number] = [-1350, 150];

export interface CtSliceToRgbOptions {
  /**
   * Intensity window mapped linearly to black … white (values outside are clipped):
   * - [lo, hi]: in the slice's own units (HU for CT);
   * - 'auto': the slice's own 1st … 99th percentile, for images of unknown scale
   *   (normalised [0, 1] model inputs, MR); a flat slice gets [v, v + 1].
   * Defaults to the lung window {@link LUNG_WINDOW_HU} for Float32Array, Float64Array and
   * Int16Array slices (HU), and to [0, 255] for Uint8Array slices, which are pictures
   * already windowed to 8 bits (PNG/JPEG exports).
   */
  window?: readonly [number, number] | 'auto';
}

/** A CT slice of shape [height, width] as a grey RGB picture. NaN pixels are black. */
export function ctSliceToRgb(
  slice: Float32Array | Float64Array | Int16Array | Uint8Array,
  width: number,
  height: number,
  options: CtSliceToRgbOptions = {},
): RgbImage {
  if (slice.length !== width * height) {
    throw new CovsegError(`ctSliceToRgb: slice has ${slice.length} pixels but ${width}×${height} = ${width * height}; pass the slice's own width and height`);
  }
  const [lo, hi] = options.window === 'auto' ? autoWindow(slice) : options.window ?? (slice instanceof Uint8Array ? [0, 255] : LUNG_WINDOW_HU);
  if (!(hi > lo)) throw new CovsegError(`ctSliceToRgb: window [${lo}, ${hi}] is empty; give [lo, hi] with hi > lo`);
  const img = createImage(width, height);
  const d = img.data;
  const span = hi - lo;
  // Multiply before dividing: 50 · 255 / 100 is exactly 127.5 (rounds to 128), 50 · (255 / 100) is not.
  const grey = (v: number): number => (v <= lo || Number.isNaN(v) ? 0 : v >= hi ? 255 : Math.round(((v - lo) * 255) / span));
  if (slice instanceof Uint8Array) {
    // 256 possible values: a table beats a multiply per pixel.
    const lut = new Uint8Array(256);
    for (let v = 0; v < 256; v++) lut[v] = grey(v);
    for (let i = 0, o = 0; i < slice.length; i++, o += 3) d[o] = d[o + 1] = d[o + 2] = lut[slice[i]!]!;
  } else if (slice instanceof Int16Array && slice.length > 65536) {
    // A 512 × 512 CT slice has 4× more pixels than int16 has values: a table again.
    const lut = new Uint8Array(65536);
    for (let v = -32768; v < 32768; v++) lut[v + 32768] = grey(v);
    for (let i = 0, o = 0; i < slice.length; i++, o += 3) d[o] = d[o + 1] = d[o + 2] = lut[slice[i]! + 32768]!;
  } else {
    for (let i = 0, o = 0; i < slice.length; i++, o += 3) d[o] = d[o + 1] = d[o + 2] = grey(slice[i]!);
  }
  return img;
}

/** The 1st … 99th percentile of the slice's finite values (NaN pixels do not count). */
function autoWindow(slice: Float32Array | Float64Array | Int16Array | Uint8Array): [number, number] {
  let finite: Float32Array | Float64Array | Int16Array | Uint8Array = slice;
  if (slice instanceof Float32Array || slice instanceof Float64Array) {
    if (slice.some((v) => !Number.isFinite(v))) finite = slice.filter(Number.isFinite);
    if (finite.length === 0) return [0, 1];
  }
  const [lo, hi] = percentiles(finite, [1, 99]) as [number, number];
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

export interface OverlayOptions {
  /** Opacity of the fill, 0 (no fill, image unchanged) … 1 (solid colour): `(1 - alpha) * image + alpha * colour`, rounded. Defaults to 0.4. */
  alpha?: number;
  /** Also paint each region's 1-px boundary in solid colour: region pixels with a 4-neighbour outside the region (the image edge counts as outside). Defaults to false. */
  outline?: boolean;
}

export interface OverlayLabelsOptions extends OverlayOptions {
  /** What to do with a non-zero label missing from `colorsByLabel`: 'error' throw (a forgotten colour would hide a structure), 'skip' leave those pixels unpainted (e.g. show only the lungs of a 117-label map). Defaults to 'error'. */
  unlisted?: 'error' | 'skip';
}

function checkMask(img: RgbImage, mask: Uint8Array, what: string): void {
  if (mask.length !== img.width * img.height) {
    throw new CovsegError(`${what} has ${mask.length} pixels but the image is ${img.width}×${img.height}; resize the mask to the image with nearest-neighbour interpolation first`);
  }
}

/**
 * Paints every pixel whose value v has `colors[v]`: blended fill, then solid outline
 * where a 4-neighbour belongs to another region (`regionOf` maps values to regions,
 * so a 0/255 mask and a 0/1 mask outline alike).
 */
function paintRegions(img: RgbImage, values: Uint8Array, colors: ReadonlyArray<Rgb | undefined>, regionOf: Uint8Array, options: OverlayOptions): void {
  const alpha = options.alpha ?? 0.4;
  if (!(alpha >= 0 && alpha <= 1)) throw new CovsegError(`overlay alpha must be in [0, 1], got ${alpha}`);
  const { width, height, data: d } = img;
  if (alpha > 0) {
    for (let i = 0, o = 0; i < values.length; i++, o += 3) {
      const c = colors[values[i]!];
      if (!c) continue;
      d[o] = blendChannel(d[o]!, c[0], alpha);
      d[o + 1] = blendChannel(d[o + 1]!, c[1], alpha);
      d[o + 2] = blendChannel(d[o + 2]!, c[2], alpha);
    }
  }
  if (!options.outline) return;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const c = colors[values[i]!];
      if (!c) continue;
      const r = regionOf[values[i]!];
      const edge = x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
        regionOf[values[i - 1]!] !== r || regionOf[values[i + 1]!] !== r ||
        regionOf[values[i - width]!] !== r || regionOf[values[i + width]!] !== r;
      if (edge) {
        d[3 * i] = c[0];
        d[3 * i + 1] = c[1];
        d[3 * i + 2] = c[2];
      }
    }
  }
}

const IDENTITY_REGIONS = Uint8Array.from({ length: 256 }, (_, v) => v);
const BINARY_REGIONS = Uint8Array.from({ length: 256 }, (_, v) => (v === 0 ? 0 : 1));

/**
 * Paints `mask` (shape [height, width], any non-zero value = inside) over `img` in
 * `color`, in place; returns `img` for chaining.
 */
export function overlayMask(img: RgbImage, mask: Uint8Array, color: Rgb, options: OverlayOptions = {}): RgbImage {
  checkMask(img, mask, 'overlayMask: mask');
  const colors: (Rgb | undefined)[] = new Array(256).fill(color);
  colors[0] = undefined;
  paintRegions(img, mask, colors, BINARY_REGIONS, options);
  return img;
}

/**
 * Paints each label of `labels` (shape [height, width]; 0 = background, never
 * painted) over `img` in its colour from `colorsByLabel`, in place; returns `img`.
 * E.g. `overlayLabels(img, lungLabels, LUNG_LABEL_COLORS)` for the method's Figure 1.
 */
export function overlayLabels(img: RgbImage, labels: Uint8Array, colorsByLabel: Readonly<Record<number, Rgb>>, options: OverlayLabelsOptions = {}): RgbImage {
  checkMask(img, labels, 'overlayLabels: label map');
  const colors: (Rgb | undefined)[] = new Array(256).fill(undefined);
  for (const [key, c] of Object.entries(colorsByLabel)) {
    const v = Number(key);
    if (v > 0 && v < 256) colors[v] = c;
  }
  if ((options.unlisted ?? 'error') === 'error') {
    const seen = new Uint8Array(256);
    for (let i = 0; i < labels.length; i++) seen[labels[i]!] = 1;
    const missing = [...seen.keys()].filter((v) => v > 0 && seen[v] && !colors[v]);
    if (missing.length > 0) {
      throw new CovsegError(`overlayLabels: labels ${missing.join(', ')} have no colour; add them to colorsByLabel or pass unlisted: 'skip'`);
    }
  }
  paintRegions(img, labels, colors, IDENTITY_REGIONS, options);
  return img;
}

export interface ComparisonOverlayOptions extends OverlayOptions {
  /** Add a colour key ("■ TP (both) ■ FP (extra) ■ FN (missed)") under the image. Defaults to true. */
  legend?: boolean;
  /** Text scale of the key. Defaults to 1. */
  scale?: number;
}

/** Region codes of {@link comparisonLabels}. */
export const COMPARISON_TP = 1;
export const COMPARISON_FP = 2;
export const COMPARISON_FN = 3;

/**
 * Per-pixel agreement of two masks of shape [height, width] (non-zero = inside):
 * 0 both outside, 1 TP (both), 2 FP (prediction only), 3 FN (reference only).
 * (Counts and Dice come from eval's `confusion`; this only says where.)
 */
export function comparisonLabels(prediction: Uint8Array, reference: Uint8Array): Uint8Array {
  if (prediction.length !== reference.length) {
    throw new CovsegError(`comparisonLabels: prediction has ${prediction.length} pixels, reference ${reference.length}; compare masks of the same slice`);
  }
  const labels = new Uint8Array(prediction.length);
  for (let i = 0; i < labels.length; i++) {
    const p = prediction[i] !== 0;
    const r = reference[i] !== 0;
    labels[i] = p ? (r ? COMPARISON_TP : COMPARISON_FP) : r ? COMPARISON_FN : 0;
  }
  return labels;
}

/**
 * A new picture: `ctRgb` (left unchanged) with prediction-versus-reference agreement
 * painted in the colour-blind-safe TP / FP / FN colours of colors.ts, and by default a
 * key underneath. Masks have the shape [height, width] of `ctRgb`. Put the case id and
 * Dice in a title with `panel`.
 */
export function comparisonOverlay(ctRgb: RgbImage, prediction: Uint8Array, reference: Uint8Array, options: ComparisonOverlayOptions = {}): RgbImage {
  checkMask(ctRgb, prediction, 'comparisonOverlay: prediction');
  checkMask(ctRgb, reference, 'comparisonOverlay: reference');
  const labels = comparisonLabels(prediction, reference);
  const painted = overlayLabels(cloneImage(ctRgb), labels, { [COMPARISON_TP]: TRUE_POSITIVE, [COMPARISON_FP]: FALSE_POSITIVE, [COMPARISON_FN]: FALSE_NEGATIVE }, { alpha: options.alpha ?? 0.5, outline: options.outline ?? false });
  if (options.legend === false) return painted;
  const key = legendStrip(
    [
      { label: 'TP (both)', color: TRUE_POSITIVE },
      { label: 'FP (extra)', color: FALSE_POSITIVE },
      { label: 'FN (missed)', color: FALSE_NEGATIVE },
    ],
    { width: ctRgb.width, scale: options.scale ?? 1, background: IMAGE_BACKGROUND, textColor: IMAGE_TEXT },
  );
  const out = createImage(ctRgb.width, ctRgb.height + key.height, IMAGE_BACKGROUND);
  blit(out, painted, 0, 0);
  blit(out, key, 0, ctRgb.height);
  return out;
}
