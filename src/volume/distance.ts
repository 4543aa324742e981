/**
 * Exact Euclidean distance transform in millimetres (scipy.ndimage.distance_transform_edt
 * with `sampling` = the voxel size): for each foreground voxel, the distance to the nearest
 * background voxel. As in scipy, the outside of the grid is not background, so a lung cut
 * off by the scan's last slice has no "surface" there.
 *
 * Felzenszwalb & Huttenlocher's separable algorithm (Theory of Computing 8, 2012): one
 * linear pass per axis, the x pass a plain two-way scan, the y and z passes the lower
 * envelope of parabolas. It runs on the foreground's bounding box grown by one voxel,
 * which is exact: the nearest background of a voxel inside the box is never farther than
 * the box's own one-voxel shell of background.
 */
import { CovsegError } from '../util/errors.js';
import { checkGrid, checkSpacing } from './checks.js';
import { boundingBox } from './crop-pad.js';
import type { Vec3 } from './volume.js';

export interface DistanceOptions {
  /** Foreground = voxels equal to this label (e.g. 1 for the right lung). Defaults to every nonzero voxel. */
  label?: number;
}

/** Distances on the box `lo ≤ index < hi` of the source grid; every voxel outside the box is background (distance 0). */
export type DistanceMap =
  | { empty: true }
  | {
      empty: false;
      lo: Vec3;
      hi: Vec3;
      /** Box size, hi − lo. */
      dims: Vec3;
      /** Distance in mm to the nearest background voxel (0 on background), x fastest over the box. */
      distanceMm: Float32Array;
      /** The largest distance: the depth of the deepest foreground voxel. */
      maxMm: number;
    };

/** Distance from each foreground voxel of `mask` (shape `dims`) to the nearest background voxel, in mm. */
export function distanceTransform(mask: ArrayLike<number>, dims: Vec3, spacingMm: Vec3, options: DistanceOptions = {}): DistanceMap {
  checkGrid('distanceTransform', mask, dims);
  checkSpacing('distanceTransform', spacingMm);
  const label = options.label;
  if (label !== undefined && !Number.isFinite(label)) throw new CovsegError(`distanceTransform: label must be a number, got ${label}`);
  const [nx, ny, nz] = dims;
  // Foreground test inlined (a closure per voxel costs more than the transform itself).
  const anyLabel = label === undefined;
  const want = label ?? 0;

  // Bounding box of the foreground, grown by one voxel where the grid allows.
  const bb = boundingBox(mask, dims, anyLabel ? {} : { label: want });
  if (bb.empty) return { empty: true };
  const [x0, y0, z0] = bb.lo;
  const [x1, y1, z1] = [bb.hi[0] - 1, bb.hi[1] - 1, bb.hi[2] - 1];
  const lo: Vec3 = [Math.max(0, x0 - 1), Math.max(0, y0 - 1), Math.max(0, z0 - 1)];
  const hi: Vec3 = [Math.min(nx, x1 + 2), Math.min(ny, y1 + 2), Math.min(nz, z1 + 2)];
  const [bx, by, bz] = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
  const d = new Float32Array(bx * by * bz);

  // x: squared distance to the nearest background voxel in the same row (Infinity: none).
  const sx2 = spacingMm[0] * spacingMm[0];
  for (let z = 0; z < bz; z++) {
    for (let y = 0; y < by; y++) {
      const src = lo[0] + nx * (lo[1] + y + ny * (lo[2] + z));
      const row = bx * (y + by * z);
      let last = -Infinity;
      for (let x = 0; x < bx; x++) {
        const v = mask[src + x]!;
        if (!(anyLabel ? v !== 0 : v === want)) last = x;
        d[row + x] = x - last;
      }
      last = Infinity;
      for (let x = bx - 1; x >= 0; x--) {
        if (d[row + x] === 0) last = x;
        const k = Math.min(d[row + x]!, last - x);
        d[row + x] = k === Infinity ? Infinity : k * k * sx2;
      }
    }
  }
  // y, then z: lower envelope of parabolas along each line.
  const n = Math.max(by, bz);
  const work = { f: new Float64Array(n), v: new Int32Array(n), b: new Float64Array(n + 1) };
  for (let z = 0; z < bz; z++) {
    for (let x = 0; x < bx; x++) envelopeLine(d, x + bx * by * z, bx, by, spacingMm[1] * spacingMm[1], work);
  }
  for (let y = 0; y < by; y++) {
    for (let x = 0; x < bx; x++) envelopeLine(d, x + bx * y, bx * by, bz, spacingMm[2] * spacingMm[2], work);
  }
  let maxMm = 0;
  for (let i = 0; i < d.length; i++) {
    const v = Math.sqrt(d[i]!);
    d[i] = v;
    if (v > maxMm) maxMm = v;
  }
  return { empty: false, lo, hi, dims: [bx, by, bz], distanceMm: d, maxMm };
}

/**
 * In place on the line `start + k·stride`, k < n: d[q] ← min_p d[p] + s2·(q − p)². Lines
 * that are all background (every value 0) are left as they are.
 */
function envelopeLine(d: Float32Array, start: number, stride: number, n: number, s2: number, work: { f: Float64Array; v: Int32Array; b: Float64Array }): void {
  const { f, v, b } = work;
  let anyForeground = false;
  for (let q = 0, i = start; q < n; q++, i += stride) {
    const x = d[i]!;
    f[q] = x;
    if (x !== 0) anyForeground = true;
  }
  if (!anyForeground) return;
  // v: the parabolas of the lower envelope; b[k]..b[k+1]: where parabola k is lowest.
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q]!;
    if (fq === Infinity) continue;
    let s = -Infinity;
    while (k >= 0) {
      const p = v[k]!;
      s = (fq + s2 * q * q - (f[p]! + s2 * p * p)) / (2 * s2 * (q - p));
      if (s > b[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    b[k] = k === 0 ? -Infinity : s;
    b[k + 1] = Infinity;
  }
  if (k < 0) return; // no finite value on the line: stays Infinity
  k = 0;
  for (let q = 0, i = start; q < n; q++, i += stride) {
    while (b[k + 1]! < q) k++;
    const p = v[k]!;
    d[i] = s2 * (q - p) * (q - p) + f[p]!;
  }
}
