/**
 * A minimal RGB raster to draw figures into, with no native or canvas package:
 * rectangles, Bresenham lines, copies and integer upscaling. Drawing functions
 * paint into the image they are given (like a canvas) and clip at its edges;
 * functions that make a new image say so.
 */
import { CovsegError } from '../util/errors.js';
import { resizeSlice } from '../volume/resize2d.js';
import type { Rgb } from './colors.js';

/** An 8-bit RGB picture. */
export interface RgbImage {
  width: number;
  height: number;
  /** RGB triplets, rows top to bottom, pixels left to right: shape [height, width, 3]. */
  data: Uint8Array;
}

/** A new `width`×`height` image filled with `background` (black unless given). */
export function createImage(width: number, height: number, background: Rgb = [0, 0, 0]): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CovsegError(`createImage: width and height must be positive integers, got ${width}×${height}; round the size first`);
  }
  const img = { width, height, data: new Uint8Array(width * height * 3) };
  if (background[0] !== 0 || background[1] !== 0 || background[2] !== 0) fillRect(img, 0, 0, width, height, background);
  return img;
}

/** A copy of `img` that shares no memory with it. */
export function cloneImage(img: RgbImage): RgbImage {
  return { width: img.width, height: img.height, data: img.data.slice() };
}

/** The colour at (x, y); throws outside the image. */
export function getPixel(img: RgbImage, x: number, y: number): Rgb {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= img.width || y >= img.height) {
    throw new CovsegError(`getPixel: (${x}, ${y}) is outside the ${img.width}×${img.height} image`);
  }
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

/** Paints pixel (x, y) if it lies inside the image; integer coordinates. */
export function setPixel(img: RgbImage, x: number, y: number, color: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const i = (y * img.width + x) * 3;
  img.data[i] = color[0];
  img.data[i + 1] = color[1];
  img.data[i + 2] = color[2];
}

/** Fills the `w`×`h` rectangle whose top-left pixel is (x, y), clipped to the image. */
export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(img.width, Math.round(x) + Math.round(w));
  const y1 = Math.min(img.height, Math.round(y) + Math.round(h));
  if (x1 <= x0 || y1 <= y0) return;
  const d = img.data;
  const [r, g, b] = color;
  for (let yy = y0; yy < y1; yy++) {
    let i = (yy * img.width + x0) * 3;
    for (let xx = x0; xx < x1; xx++, i += 3) {
      d[i] = r;
      d[i + 1] = g;
      d[i + 2] = b;
    }
  }
}

/** Draws the 1-px outline of the `w`×`h` rectangle whose top-left pixel is (x, y). */
export function strokeRect(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb): void {
  fillRect(img, x, y, w, 1, color);
  fillRect(img, x, y + h - 1, w, 1, color);
  fillRect(img, x, y, 1, h, color);
  fillRect(img, x + w - 1, y, 1, h, color);
}

export interface LineOptions {
  /** Line width in pixels: each point of the 1-px line becomes a thickness×thickness square (centred; an even width extends right/down). Defaults to 1. */
  thickness?: number;
  /** Dash pattern [on, off] in steps along the line, e.g. [6, 4]; the line starts with an "on" run. Defaults to a solid line. */
  dash?: readonly [number, number];
}

/**
 * Draws the line from (x0, y0) to (x1, y1) with the integer Bresenham algorithm
 * (coordinates are rounded to pixels first), both ends included. A line that leaves
 * the image is clipped before rasterising, so a far-away end point costs nothing.
 */
export function drawLine(img: RgbImage, x0: number, y0: number, x1: number, y1: number, color: Rgb, options: LineOptions = {}): void {
  const thickness = Math.max(1, Math.round(options.thickness ?? 1));
  if (![x0, y0, x1, y1].every(Number.isFinite)) {
    throw new CovsegError(`drawLine: end points must be finite, got (${x0}, ${y0}) → (${x1}, ${y1}); skip NaN points (drawPolyline does)`);
  }
  const margin = thickness + 1;
  const inside = (x: number, y: number): boolean => x >= -margin && y >= -margin && x <= img.width - 1 + margin && y <= img.height - 1 + margin;
  if (!inside(x0, y0) || !inside(x1, y1)) {
    const clipped = clipSegment(x0, y0, x1, y1, -margin, -margin, img.width - 1 + margin, img.height - 1 + margin);
    if (!clipped) return;
    [x0, y0, x1, y1] = clipped;
  }
  let x = Math.round(x0);
  let y = Math.round(y0);
  const xEnd = Math.round(x1);
  const yEnd = Math.round(y1);
  const dx = Math.abs(xEnd - x);
  const dy = -Math.abs(yEnd - y);
  const sx = x < xEnd ? 1 : -1;
  const sy = y < yEnd ? 1 : -1;
  const [on, off] = options.dash ?? [1, 0];
  const period = on + off;
  const lo = -Math.floor((thickness - 1) / 2);
  let err = dx + dy;
  for (let step = 0; ; step++) {
    if (off === 0 || step % period < on) {
      if (thickness === 1) setPixel(img, x, y, color);
      else fillRect(img, x + lo, y + lo, thickness, thickness, color);
    }
    if (x === xEnd && y === yEnd) break;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** Liang–Barsky: the part of a segment inside [xmin, xmax]×[ymin, ymax], or undefined if none. */
function clipSegment(x0: number, y0: number, x1: number, y1: number, xmin: number, ymin: number, xmax: number, ymax: number): [number, number, number, number] | undefined {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const p = [-dx, dx, -dy, dy];
  const q = [x0 - xmin, xmax - x0, y0 - ymin, ymax - y0];
  for (let k = 0; k < 4; k++) {
    if (p[k] === 0) {
      if (q[k]! < 0) return undefined;
    } else {
      const t = q[k]! / p[k]!;
      if (p[k]! < 0) t0 = Math.max(t0, t);
      else t1 = Math.min(t1, t);
    }
  }
  if (t0 > t1) return undefined;
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}

/**
 * Draws straight lines through `points` (shape [n][2], pixel coordinates). A point with
 * a NaN or infinite coordinate breaks the line, so missing values show as gaps; a
 * finite point with no finite neighbour is drawn as a dot so that it stays visible.
 */
export function drawPolyline(img: RgbImage, points: ReadonlyArray<readonly [number, number]>, color: Rgb, options: LineOptions = {}): void {
  const thickness = Math.max(1, Math.round(options.thickness ?? 1));
  const finite = (p: readonly [number, number] | undefined): boolean => p !== undefined && Number.isFinite(p[0]) && Number.isFinite(p[1]);
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (!finite(p)) continue;
    const next = points[i + 1];
    if (finite(next)) drawLine(img, p[0], p[1], next![0], next![1], color, options);
    else if (!finite(points[i - 1])) {
      const size = thickness + 2;
      fillRect(img, Math.round(p[0]) - Math.floor(size / 2), Math.round(p[1]) - Math.floor(size / 2), size, size, color);
    }
  }
}

/** Copies all of `src` into `dst` with its top-left pixel at (x, y), clipped to `dst`. */
export function blit(dst: RgbImage, src: RgbImage, x: number, y: number): void {
  x = Math.round(x);
  y = Math.round(y);
  const sx0 = Math.max(0, -x);
  const sy0 = Math.max(0, -y);
  const sx1 = Math.min(src.width, dst.width - x);
  const sy1 = Math.min(src.height, dst.height - y);
  if (sx1 <= sx0 || sy1 <= sy0) return;
  for (let sy = sy0; sy < sy1; sy++) {
    const from = (sy * src.width + sx0) * 3;
    dst.data.set(src.data.subarray(from, from + (sx1 - sx0) * 3), ((sy + y) * dst.width + x + sx0) * 3);
  }
}

/** A new image holding the `w`×`h` region of `img` whose top-left pixel is (x, y); the region must lie inside `img`. */
export function cropImage(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > img.width || y + h > img.height) {
    throw new CovsegError(`cropImage: region ${w}×${h} at (${x}, ${y}) is not inside the ${img.width}×${img.height} image`);
  }
  const out = createImage(w, h);
  blit(out, img, -x, -y);
  return out;
}

/**
 * A new image `factor` times larger, each pixel replicated into a factor×factor block
 * (nearest neighbour): the right enlargement for masks, text and small CT thumbnails
 * where blurred edges would hide the pixel grid. `factor` is a positive integer.
 */
export function scaleNearest(img: RgbImage, factor: number): RgbImage {
  if (!Number.isInteger(factor) || factor < 1) {
    throw new CovsegError(`scaleNearest: factor must be a positive integer, got ${factor}; use resizeImage for other sizes`);
  }
  if (factor === 1) return cloneImage(img);
  const outW = img.width * factor;
  const out = createImage(outW, img.height * factor);
  const row = new Uint8Array(outW * 3);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0, o = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      for (let k = 0; k < factor; k++, o += 3) {
        row[o] = img.data[i]!;
        row[o + 1] = img.data[i + 1]!;
        row[o + 2] = img.data[i + 2]!;
      }
    }
    for (let k = 0; k < factor; k++) out.data.set(row, (y * factor + k) * outW * 3);
  }
  return out;
}

export interface ResizeImageOptions {
  /**
   * How output pixels sample the input (volume/resize2d's conventions):
   * - 'bilinear': blends the four nearest pixels (half-pixel centres), for pictures of grey CT;
   * - 'nearest': copies the nearest pixel, for pictures of label maps, whose colours must not mix.
   * Defaults to 'bilinear'.
   */
  interpolation?: 'bilinear' | 'nearest';
}

/**
 * A new image of `width`×`height`: each colour channel resized by volume's
 * `resizeSlice` (the project's one 2D resampler), rounded back to 8 bits.
 */
export function resizeImage(img: RgbImage, width: number, height: number, options: ResizeImageOptions = {}): RgbImage {
  const interpolation = options.interpolation ?? 'bilinear';
  const out = createImage(width, height);
  const n = img.width * img.height;
  const channel = new Uint8Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) channel[i] = img.data[3 * i + c]!;
    const resized = resizeSlice(channel, img.width, img.height, width, height, { interpolation });
    // Bilinear blends of 0…255 values stay in 0…255, so rounding is the only conversion.
    for (let i = 0; i < width * height; i++) out.data[3 * i + c] = Math.round(resized[i]!);
  }
  return out;
}

/** A new image, `img` turned a quarter turn counter-clockwise (for vertical axis titles). */
export function rotateCounterClockwise(img: RgbImage): RgbImage {
  const out = createImage(img.height, img.width);
  const d = img.data;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      // (x, y) moves to column y, row (width - 1 - x).
      const o = ((img.width - 1 - x) * out.width + y) * 3;
      out.data[o] = d[i]!;
      out.data[o + 1] = d[i + 1]!;
      out.data[o + 2] = d[i + 2]!;
    }
  }
  return out;
}

/** Linear blend `(1 - alpha) * base + alpha * color`, rounded, as every overlay uses it. */
export function blendChannel(base: number, color: number, alpha: number): number {
  return Math.round((1 - alpha) * base + alpha * color);
}
