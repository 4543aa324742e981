/**
 * Random augmentation of training samples: flips, small rotations and scales (2D),
 * intensity jitter (gamma, contrast, brightness, noise). Lesion appearance differs
 * between hospitals and exports; jittering intensity is what lets one model serve them.
 * Geometry goes through the project's one resampler (`resampleToGrid`).
 */
import { createVolume, type Mat3, type Vec3 } from '../volume/volume.js';
import { resampleToGrid } from '../volume/index.js';
import type { Rng } from '../util/random.js';

export interface AugmentOptions {
  /** Mirror left–right with probability 0.5. Defaults to true. */
  flip?: boolean;
  /** Maximum in-plane rotation in degrees (2D only). Defaults to 10. */
  maxRotationDeg?: number;
  /** Zoom range (2D only). Defaults to [0.9, 1.1]. */
  scaleRange?: [number, number];
  /** Gamma range applied to the [0,1] image. Defaults to [0.7, 1.5]. */
  gammaRange?: [number, number];
  /** Maximum relative contrast change. Defaults to 0.15. */
  contrast?: number;
  /** Maximum brightness shift. Defaults to 0.1. */
  brightness?: number;
  /** Maximum standard deviation of added Gaussian noise. Defaults to 0.03. */
  noiseStd?: number;
}

const DEFAULTS: Required<AugmentOptions> = { flip: true, maxRotationDeg: 10, scaleRange: [0.9, 1.1], gammaRange: [0.7, 1.5], contrast: 0.15, brightness: 0.1, noiseStd: 0.03 };

/**
 * Augments one sample in place. `image` is [0,1] float, `masks` are 0/1 label arrays,
 * all of `spatial` shape ([H, W] or [D, H, W], x fastest).
 */
export function augmentSample(image: Float32Array, masks: Uint8Array[], spatial: number[], rng: Rng, options: AugmentOptions = {}): void {
  const o = { ...DEFAULTS, ...options };
  const [w, h, d] = spatial.length === 2 ? [spatial[1]!, spatial[0]!, 1] : [spatial[2]!, spatial[1]!, spatial[0]!];
  if (o.flip && rng.next() < 0.5) {
    flipX(image, w, h * d);
    for (const m of masks) flipX(m, w, h * d);
  }
  if (spatial.length === 2 && (o.maxRotationDeg > 0 || o.scaleRange[0] !== 1 || o.scaleRange[1] !== 1)) {
    const angle = (rng.uniform(-o.maxRotationDeg, o.maxRotationDeg) * Math.PI) / 180;
    const scale = rng.uniform(o.scaleRange[0], o.scaleRange[1]);
    warp2d(image, masks, w, h, angle, scale);
  }
  const gamma = Math.exp(rng.uniform(Math.log(o.gammaRange[0]), Math.log(o.gammaRange[1])));
  const contrast = 1 + rng.uniform(-o.contrast, o.contrast);
  const brightness = rng.uniform(-o.brightness, o.brightness);
  const noise = rng.uniform(0, o.noiseStd);
  for (let i = 0; i < image.length; i++) {
    const v = Math.pow(Math.min(1, Math.max(0, image[i]!)), gamma);
    image[i] = (v - 0.5) * contrast + 0.5 + brightness + (noise > 0 ? noise * rng.normal() : 0);
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
