/**
 * Random augmentation of training samples. Lesion appearance differs between hospitals
 * and exports, so intensities are jittered twice: before the model-input transform
 * (random windowing with saturation, gamma — what different exports do to a scan) and
 * after it (contrast, brightness, noise); geometry gets flips and small rotations and
 * scales (2D), through the project's one resampler (`resampleToGrid`).
 */
import { createVolume, type Mat3, type Vec3 } from '../volume/volume.js';
import { resampleToGrid } from '../volume/index.js';
import type { Rng } from '../util/random.js';

export interface AugmentOptions {
  /** Probability of a random intensity window (clip to [lo, hi] ⊂ [0,1], rescale), as 8-bit exports do. Defaults to 0.3. */
  windowProbability?: number;
  /** Gamma range applied to the [0,1] image before the input transform. Defaults to [0.7, 1.5]. */
  gammaRange?: [number, number];
  /** Mirror left–right with probability 0.5. Defaults to true. */
  flip?: boolean;
  /**
   * Probability of a quarter-turn rotation (by 90°, 180° or 270°; square 2D samples only):
   * some exports store slices transposed or rotated (COVID-SemiSeg's JPEGs lie on their
   * side). Defaults to 0.3.
   */
  rot90Probability?: number;
  /** Maximum in-plane rotation in degrees (2D only). Defaults to 10. */
  maxRotationDeg?: number;
  /**
   * Zoom range (2D only, sampled log-uniformly; below 1 magnifies): wide because slice
   * exports crop the field of view differently (COVID-SemiSeg crops to the lungs, about
   * 1.5× larger than a full field of view). Defaults to [0.55, 1.3].
   */
  scaleRange?: [number, number];
  /** Maximum relative contrast change after the transform. Defaults to 0.1. */
  contrast?: number;
  /** Maximum brightness shift after the transform. Defaults to 0.05. */
  brightness?: number;
  /** Maximum standard deviation of Gaussian noise added after the transform. Defaults to 0.02. */
  noiseStd?: number;
}

const DEFAULTS: Required<AugmentOptions> = { windowProbability: 0.3, gammaRange: [0.7, 1.5], flip: true, rot90Probability: 0.3, maxRotationDeg: 10, scaleRange: [0.55, 1.3], contrast: 0.1, brightness: 0.05, noiseStd: 0.02 };

/** Intensity changes an export could have made: random window (with saturation) and gamma, in place on a [0,1] image. */
export function augmentBeforeTransform(image: Float32Array, rng: Rng, options: AugmentOptions = {}): void {
  const o = { ...DEFAULTS, ...options };
  const windowed = rng.next() < o.windowProbability;
  const lo = windowed ? rng.uniform(0, 0.25) : 0;
  const hi = windowed ? rng.uniform(0.6, 1) : 1;
  const gamma = Math.exp(rng.uniform(Math.log(o.gammaRange[0]), Math.log(o.gammaRange[1])));
  for (let i = 0; i < image.length; i++) {
    const v = Math.min(1, Math.max(0, (image[i]! - lo) / (hi - lo)));
    image[i] = Math.pow(v, gamma);
  }
}

/**
 * Flips, rotation/zoom (2D) and mild contrast/brightness/noise, in place. `image` is the
 * model input, `masks` are 0/1 label arrays, all of `spatial` shape ([H, W] or [D, H, W], x fastest).
 */
export function augmentAfterTransform(image: Float32Array, masks: Uint8Array[], spatial: number[], rng: Rng, options: AugmentOptions = {}): void {
  const o = { ...DEFAULTS, ...options };
  const [w, h, d] = spatial.length === 2 ? [spatial[1]!, spatial[0]!, 1] : [spatial[2]!, spatial[1]!, spatial[0]!];
  if (o.flip && rng.next() < 0.5) {
    flipX(image, w, h * d);
    for (const m of masks) flipX(m, w, h * d);
  }
  if (spatial.length === 2 && w === h && rng.next() < o.rot90Probability) {
    const turns = 1 + rng.int(3);
    rotate90(image, w, turns);
    for (const m of masks) rotate90(m, w, turns);
  }
  if (spatial.length === 2 && (o.maxRotationDeg > 0 || o.scaleRange[0] !== 1 || o.scaleRange[1] !== 1)) {
    const angle = (rng.uniform(-o.maxRotationDeg, o.maxRotationDeg) * Math.PI) / 180;
    const scale = Math.exp(rng.uniform(Math.log(o.scaleRange[0]), Math.log(o.scaleRange[1])));
    warp2d(image, masks, w, h, angle, scale);
  }
  const contrast = 1 + rng.uniform(-o.contrast, o.contrast);
  const brightness = rng.uniform(-o.brightness, o.brightness);
  const noise = rng.uniform(0, o.noiseStd);
  for (let i = 0; i < image.length; i++) {
    image[i] = (image[i]! - 0.5) * contrast + 0.5 + brightness + (noise > 0 ? noise * rng.normal() : 0);
  }
}

/** Rotates a square n×n image by `turns` quarter turns (counter-clockwise on screen), in place. */
export function rotate90(a: Float32Array | Uint8Array, n: number, turns: number): void {
  const src = a.slice();
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let sx = x, sy = y;
      // Destination (x, y) of a counter-clockwise quarter turn reads source (n−1−y, x).
      for (let t = 0; t < turns % 4; t++) [sx, sy] = [n - 1 - sy, sx];
      a[y * n + x] = src[sy * n + sx]!;
    }
  }
}

function flipX(a: Float32Array | Uint8Array, w: number, rows: number): void {
  for (let r = 0; r < rows; r++) a.subarray(r * w, (r + 1) * w).reverse();
}

/** Rotates by `angle` and zooms by `scale` about the slice centre (image linear, masks nearest). */
function warp2d(image: Float32Array, masks: Uint8Array[], w: number, h: number, angle: number, scale: number): void {
  const dims: Vec3 = [w, h, 1];
  const c = Math.cos(angle), s = Math.sin(angle);
  const direction: Mat3 = [c, -s, 0, s, c, 0, 0, 0, 1];
  const cx = (w - 1) / 2, cy = (h - 1) / 2;
  // Target voxel (i, j) ↦ centre + R·scale·((i, j) − centre): origin = centre − R·scale·centre.
  const origin: Vec3 = [cx - scale * (c * cx - s * cy), cy - scale * (s * cx + c * cy), 0];
  const target = { dims, spacingMm: [scale, scale, 1] as Vec3, origin, direction };
  image.set(resampleToGrid(createVolume(image, dims), target, { interpolation: 'linear', fillValue: 0 }).data as Float32Array);
  for (const m of masks) m.set(resampleToGrid(createVolume(m, dims), target, { interpolation: 'nearest', fillValue: 0 }).data as Uint8Array);
}
