/**
 * Random augmentation of training samples. Lesion appearance differs between hospitals
 * and exports, so intensities are jittered twice: before the model-input transform
 * (random windowing with saturation, gamma — what different exports do to a scan) and
 * after it (contrast, brightness, noise); geometry gets flips and small rotations and
 * scales (2D), through the project's one resampler (`resampleToGrid`).
 */
import { createVolume, type Mat3, type Vec3 } from '../volume/volume.js';
import { connectedComponents, percentiles, resampleToGrid } from '../volume/index.js';
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
  /**
   * 2D lung model only (the target is the lung mask): probability of painting a synthetic
   * consolidation into the lung against its border (see `paintConsolidation`). Defaults to 0.
   */
  consolidationProbability?: number;
}

const DEFAULTS: Required<AugmentOptions> = { windowProbability: 0.3, gammaRange: [0.7, 1.5], flip: true, rot90Probability: 0.3, maxRotationDeg: 10, scaleRange: [0.55, 1.3], contrast: 0.1, brightness: 0.05, noiseStd: 0.02, consolidationProbability: 0 };

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

/** Radius (pixels) around the seed over which the tissue next to the lung is sampled. */
const TISSUE_SAMPLE_RADIUS = 5;
/** Largest noise (standard deviation, [0,1] units) put into a painted consolidation. */
const MAX_TISSUE_NOISE = 0.02;
/** Width (pixels) of the blend between a painted consolidation and the lung left unpainted. */
const CONSOLIDATION_FEATHER = 3;

/**
 * Paints a synthetic consolidation into a 2D lung, in place, with probability
 * `probability`: a region of one lung that starts at its border, filled with the density
 * of the tissue just outside the lung there (chest wall, mediastinum, diaphragm), so that
 * the lung's edge vanishes into it, as dense disease at the pleura makes it vanish. The
 * lung mask (the target) is unchanged: consolidation is lung (the method's lung = lung ∪
 * lesion), and a lung model that sees one slice has to learn to follow the lung's shape,
 * not its darkness, to keep it. Why: the real consolidations a lung model leaves out lie
 * against the mediastinum, the spine and the chest wall, and the datasets hold too few of
 * them for the model to learn it (models/README.md). `image` is the [0,1] image before
 * the input transform, `lung` its 0/1 lung mask, both `width`×`height`.
 * Returns whether it painted.
 */
export function paintConsolidation(image: Float32Array, lung: Uint8Array, width: number, height: number, rng: Rng, probability: number): boolean {
  if (probability <= 0 || rng.next() >= probability) return false;
  const w = width, h = height;
  // Seeds: lung pixels with a non-lung 4-neighbour inside the image (the pleura; where the
  // lung meets the image's edge nothing outside it can be sampled).
  const border: number[] = [];
  let lungArea = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      if (!lung[i]) continue;
      lungArea++;
      if (!lung[i - 1] || !lung[i + 1] || !lung[i - w] || !lung[i + w]) border.push(i);
    }
  }
  if (border.length === 0) return false;
  const seed = border[rng.int(border.length)]!;
  const sx = seed % w, sy = Math.floor(seed / w);
  // Tissue density: the median of the non-lung pixels near the seed, and their spread.
  const tissue: number[] = [];
  const r0 = TISSUE_SAMPLE_RADIUS;
  for (let y = Math.max(0, sy - r0); y <= Math.min(h - 1, sy + r0); y++) {
    for (let x = Math.max(0, sx - r0); x <= Math.min(w - 1, sx + r0); x++) {
      if ((x - sx) ** 2 + (y - sy) ** 2 <= r0 * r0 && !lung[y * w + x]) tissue.push(image[y * w + x]!);
    }
  }
  if (tissue.length === 0) return false;
  const [q1, level, q3] = percentiles(Float32Array.from(tissue), [25, 50, 75]) as [number, number, number];
  // Consolidation is about as smooth as the tissue beside it; the window there may hold a
  // rib's edge, so the spread is capped.
  const spread = Math.min(MAX_TISSUE_NOISE, (q3 - q1) / 1.35);
  // Region: the lung pixels connected to the seed within a radius of a third to all of one
  // lung's equivalent radius (two lungs share lungArea), so from a plaque to most of a lung.
  const lungRadius = Math.sqrt(lungArea / (2 * Math.PI));
  const radius = rng.uniform(1 / 3, 1) * lungRadius;
  // An irregular outline, not a disk: the radius varies with the angle by three random harmonics (±30 %).
  const harmonics = [2, 3, 5].map((k) => ({ k, phase: rng.uniform(0, 2 * Math.PI), amp: rng.uniform(0, 0.1) }));
  const candidates = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    if (!lung[i]) continue;
    const dx = (i % w) - sx, dy = Math.floor(i / w) - sy;
    const theta = Math.atan2(dy, dx);
    const r = radius * (1 + harmonics.reduce((a, { k, phase, amp }) => a + amp * Math.sin(k * theta + phase), 0));
    candidates[i] = dx * dx + dy * dy <= r * r ? 1 : 0;
  }
  const dims: Vec3 = [w, h, 1];
  const { labels } = connectedComponents(candidates, dims, { connectivity: 4 });
  const seedLabel = labels[seed]!;
  const inRegion = (i: number): boolean => labels[i] === seedLabel;
  // Blend towards the unpainted lung only (the feather), never at the pleura: there the
  // painted density must meet the tissue's without an edge. Distance in 4-steps from the
  // unpainted lung, by breadth-first search, CONSOLIDATION_FEATHER steps deep.
  const dist = new Int32Array(w * h).fill(-1);
  let front: number[] = [];
  for (let i = 0; i < w * h; i++) if (lung[i] && !inRegion(i)) { dist[i] = 0; front.push(i); }
  for (let d = 1; d <= CONSOLIDATION_FEATHER && front.length; d++) {
    const next: number[] = [];
    for (const i of front) {
      const x = i % w;
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, i - w, i + w]) {
        if (j < 0 || j >= w * h || !inRegion(j) || dist[j] >= 0) continue;
        dist[j] = d;
        next.push(j);
      }
    }
    front = next;
  }
  // Strength: mostly dense consolidation, sometimes a denser ground glass; what is left of
  // the lung's own texture under it reads as air bronchograms and vessels.
  const strength = rng.uniform(0.6, 1);
  for (let i = 0; i < w * h; i++) {
    if (!inRegion(i)) continue;
    const feather = dist[i]! < 0 ? 1 : dist[i]! / (CONSOLIDATION_FEATHER + 1);
    const a = strength * feather;
    const painted = level + spread * rng.normal();
    image[i] = Math.min(1, Math.max(0, (1 - a) * image[i]! + a * painted));
  }
  return true;
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
