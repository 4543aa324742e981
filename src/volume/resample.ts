/**
 * The project's one resampler: new spacing around the same physical centre
 * (`resample`), or any target grid in world space, oblique included (`resampleToGrid`).
 *
 * The source index of a target voxel is an affine function of the target index, so it is
 * computed once as a 3×4 matrix. When that matrix is diagonal (equal directions: the
 * common case) the mapping is separable and each axis gets a precomputed table of index
 * pairs and weights; otherwise the index is stepped incrementally along x.
 *
 * Border rule: a sample up to half a voxel outside the outermost voxel centres is clamped
 * to the edge voxel (the input's field of view reaches to the outer voxel faces, and
 * without this every resample would lose half a voxel of field of view to fill); a
 * sample further out takes `fillValue`.
 */
import { CovsegError } from '../util/errors.js';
import { checkDims, checkSpacing, minimumOf, newArrayLike } from './checks.js';
import {
  createVolume,
  invert3,
  physicalCentre,
  type Mat3,
  type Vec3,
  type Volume,
  type VolumeGeometry,
  type VoxelArray,
} from './volume.js';

/**
 * How voxel values are sampled:
 * - `'linear'`: trilinear interpolation, for CT images; output is Float32Array.
 * - `'nearest'`: nearest voxel (halves round up); output keeps the input's array type.
 * - `'label'`: label vote for masks and label maps: among the 8 trilinear neighbours the
 *   label with the largest summed trilinear weight wins (ties → lower label), so thin
 *   structures are not eroded the way nearest-neighbour sampling erodes them. Input
 *   values must be integers in 0–255; output is Uint8Array.
 */
export type Interpolation = 'linear' | 'nearest' | 'label';

export interface ResampleToGridOptions {
  /** Sampling mode, see {@link Interpolation}. Defaults to 'linear'. */
  interpolation?: Interpolation;
  /**
   * Value of target voxels more than half a voxel outside the input grid (cast to the
   * output array type). Defaults to the input's minimum for 'linear' (CT: air), 0 for
   * 'nearest' and 'label'.
   */
  fillValue?: number;
}

export interface ResampleOptions extends ResampleToGridOptions {
  /** New voxel size [x, y, z] in mm. Required. */
  spacingMm: Vec3;
}

/** Below this (in source voxels) an index offset is rounding noise, not geometry. */
const INDEX_EPS = 1e-6;

/**
 * The grid `resample` produces: same direction, new spacing,
 * dims = max(1, round(dims·spacing / newSpacing)), same physical centre.
 */
export function resampledGeometry(vol: VolumeGeometry, spacingMm: Vec3): VolumeGeometry {
  checkSpacing('resample', spacingMm);
  const dims = [0, 1, 2].map((a) => Math.max(1, Math.round((vol.dims[a]! * vol.spacingMm[a]!) / spacingMm[a]!))) as Vec3;
  const centre = physicalCentre(vol);
  const unshifted = { dims, spacingMm: [...spacingMm] as Vec3, origin: [0, 0, 0] as Vec3, direction: [...vol.direction] as Mat3 };
  const offset = physicalCentre(unshifted);
  return { ...unshifted, origin: [centre[0] - offset[0], centre[1] - offset[1], centre[2] - offset[2]] };
}

/** Resamples `vol` to a new voxel size, keeping its direction and physical centre. */
export function resample(vol: Volume, options: ResampleOptions): Volume {
  if (!options || !options.spacingMm) {
    throw new CovsegError('resample: options.spacingMm is required, e.g. resample(ct, { spacingMm: [0.9, 0.9, 4.5] })');
  }
  return resampleToGrid(vol, resampledGeometry(vol, options.spacingMm), options);
}

/**
 * Resamples `vol` onto `target` (any dims, spacing, origin and direction): every target
 * voxel takes the value at its world position in `vol`.
 */
export function resampleToGrid(vol: Volume, target: VolumeGeometry, options: ResampleToGridOptions = {}): Volume {
  const interpolation = options.interpolation ?? 'linear';
  if (interpolation !== 'linear' && interpolation !== 'nearest' && interpolation !== 'label') {
    throw new CovsegError(`resampleToGrid: interpolation '${String(interpolation)}' is not one of linear, nearest, label`);
  }
  checkDims('resampleToGrid', target.dims, 'target dims');
  checkSpacing('resampleToGrid', target.spacingMm);
  if (interpolation === 'label') checkLabelValues(vol.data);
  // The input minimum costs a pass over the input: only when some target voxel needs it.
  const fill = (): number => options.fillValue ?? (interpolation === 'linear' ? minimumOf(vol.data) : 0);
  const map = indexMap(vol, target);
  const n = target.dims[0] * target.dims[1] * target.dims[2];
  const out: VoxelArray =
    interpolation === 'linear' ? new Float32Array(n) : interpolation === 'label' ? new Uint8Array(n) : newArrayLike(vol.data, n);
  if (isSeparable(map, target.dims)) {
    const tables = [0, 1, 2].map((a) => axisTable(map[a]![a]!, map[a]![3]!, target.dims[a]!, vol.dims[a]!)) as [AxisTable, AxisTable, AxisTable];
    const needsFill = tables.some((t) => t.outside.includes(1));
    separableSample(vol.data, vol.dims, tables, out, needsFill ? fill() : 0, interpolation);
  } else {
    generalSample(vol.data, vol.dims, map, target.dims, out, fill(), interpolation);
  }
  return createVolume(out, target.dims, target);
}

function checkLabelValues(data: VoxelArray): void {
  if (data instanceof Uint8Array) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= 0 && v <= 255 && Number.isInteger(v))) {
      throw new CovsegError(`resampleToGrid: 'label' interpolation needs integer labels 0–255, found ${v} at voxel ${i}; use 'linear' for images, or relabel the map`);
    }
  }
}

/**
 * Rows r = 0..2 of the affine map from target index to source continuous index:
 * src[r] = m[r][0]·i + m[r][1]·j + m[r][2]·k + m[r][3].
 */
type IndexMap = [number[], number[], number[]];

function indexMap(source: VolumeGeometry, target: VolumeGeometry): IndexMap {
  const inv = invert3(source.direction);
  const td = target.direction;
  const o = [target.origin[0] - source.origin[0], target.origin[1] - source.origin[1], target.origin[2] - source.origin[2]];
  const rows: number[][] = [];
  for (let r = 0; r < 3; r++) {
    const row: number[] = [];
    for (let c = 0; c < 3; c++) {
      const cos = inv[3 * r]! * td[c]! + inv[3 * r + 1]! * td[3 + c]! + inv[3 * r + 2]! * td[6 + c]!;
      row.push((cos * target.spacingMm[c]!) / source.spacingMm[r]!);
    }
    row.push((inv[3 * r]! * o[0]! + inv[3 * r + 1]! * o[1]! + inv[3 * r + 2]! * o[2]!) / source.spacingMm[r]!);
    rows.push(row);
  }
  return rows as IndexMap;
}

/** Off-diagonal terms move no sample by more than INDEX_EPS anywhere in the target grid. */
function isSeparable(map: IndexMap, dims: Vec3): boolean {
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      if (r !== c && Math.abs(map[r]![c]!) * (dims[c]! - 1) > INDEX_EPS) return false;
    }
  }
  return true;
}

/** Per target index along one axis: the two source indices, the weight of the second, and whether it lies outside. */
interface AxisTable {
  i0: Int32Array;
  i1: Int32Array;
  w: Float64Array;
  nearest: Int32Array;
  outside: Uint8Array;
}

function axisTable(scale: number, shift: number, nTarget: number, nSource: number): AxisTable {
  const t: AxisTable = {
    i0: new Int32Array(nTarget),
    i1: new Int32Array(nTarget),
    w: new Float64Array(nTarget),
    nearest: new Int32Array(nTarget),
    outside: new Uint8Array(nTarget),
  };
  for (let i = 0; i < nTarget; i++) {
    const c = scale * i + shift;
    if (c < -0.5 - INDEX_EPS || c > nSource - 0.5 + INDEX_EPS) {
      t.outside[i] = 1;
      continue;
    }
    const cc = c < 0 ? 0 : c > nSource - 1 ? nSource - 1 : c;
    const i0 = Math.floor(cc);
    t.i0[i] = i0;
    t.i1[i] = i0 + 1 < nSource ? i0 + 1 : i0;
    t.w[i] = cc - i0;
    t.nearest[i] = Math.min(Math.floor(cc + 0.5), nSource - 1);
  }
  return t;
}

/** First and one-past-last inside index of a table whose inside part is contiguous (monotone maps). */
function insideRange(t: AxisTable): [number, number] {
  let lo = 0;
  let hi = t.outside.length;
  while (lo < hi && t.outside[lo]) lo++;
  while (hi > lo && t.outside[hi - 1]) hi--;
  return [lo, hi];
}

/** All three modes on a separable map: per-axis tables, no matrix math per voxel. */
function separableSample(src: VoxelArray, sdims: Vec3, tables: [AxisTable, AxisTable, AxisTable], out: VoxelArray, fill: number, mode: Interpolation): void {
  const [tx, ty, tz] = tables;
  const nx = tx.outside.length;
  const ny = ty.outside.length;
  const nz = tz.outside.length;
  const sx = sdims[0];
  const sxy = sdims[0] * sdims[1];
  const [xLo, xHi] = insideRange(tx);
  const x0 = tx.i0;
  const x1 = tx.i1;
  const wxs = tx.w;
  if (fill !== 0) out.fill(fill); // fresh arrays are already 0
  for (let z = 0; z < nz; z++) {
    if (tz.outside[z]) continue;
    const z0 = tz.i0[z]! * sxy;
    const z1 = tz.i1[z]! * sxy;
    const wz = tz.w[z]!;
    for (let y = 0; y < ny; y++) {
      if (ty.outside[y]) continue;
      let o = (z * ny + y) * nx + xLo;
      if (mode === 'nearest') {
        const row = tz.nearest[z]! * sxy + ty.nearest[y]! * sx;
        for (let x = xLo; x < xHi; x++, o++) out[o] = src[row + tx.nearest[x]!]!;
        continue;
      }
      const r00 = z0 + ty.i0[y]! * sx;
      const r01 = z0 + ty.i1[y]! * sx;
      const r10 = z1 + ty.i0[y]! * sx;
      const r11 = z1 + ty.i1[y]! * sx;
      const wy = ty.w[y]!;
      if (mode === 'label') {
        for (let x = xLo; x < xHi; x++, o++) out[o] = voteLabel(src, r00, r01, r10, r11, x0[x]!, x1[x]!, wxs[x]!, wy, wz);
        continue;
      }
      for (let x = xLo; x < xHi; x++, o++) {
        const a = x0[x]!;
        const b = x1[x]!;
        const wx = wxs[x]!;
        let p = src[r00 + a]!;
        const v00 = p + wx * (src[r00 + b]! - p);
        p = src[r01 + a]!;
        const v01 = p + wx * (src[r01 + b]! - p);
        p = src[r10 + a]!;
        const v10 = p + wx * (src[r10 + b]! - p);
        p = src[r11 + a]!;
        const v11 = p + wx * (src[r11 + b]! - p);
        const v0 = v00 + wy * (v01 - v00);
        const v1 = v10 + wy * (v11 - v10);
        out[o] = v0 + wz * (v1 - v0);
      }
    }
  }
}

const voteLabels = new Float64Array(8);
const voteWeights = new Float64Array(8);

/**
 * The label with the largest summed trilinear weight among the 8 neighbours
 * (rows r00 = (y0, z0), r01 = (y1, z0), r10 = (y0, z1), r11 = (y1, z1); columns a, b).
 */
function voteLabel(src: VoxelArray, r00: number, r01: number, r10: number, r11: number, a: number, b: number, wx: number, wy: number, wz: number): number {
  const l0 = src[r00 + a]!;
  const l1 = src[r00 + b]!;
  const l2 = src[r01 + a]!;
  const l3 = src[r01 + b]!;
  const l4 = src[r10 + a]!;
  const l5 = src[r10 + b]!;
  const l6 = src[r11 + a]!;
  const l7 = src[r11 + b]!;
  if (l0 === l1 && l0 === l2 && l0 === l3 && l0 === l4 && l0 === l5 && l0 === l6 && l0 === l7) return l0;
  const ux = 1 - wx;
  const uy = 1 - wy;
  const uz = 1 - wz;
  voteLabels[0] = l0; voteWeights[0] = ux * uy * uz;
  voteLabels[1] = l1; voteWeights[1] = wx * uy * uz;
  voteLabels[2] = l2; voteWeights[2] = ux * wy * uz;
  voteLabels[3] = l3; voteWeights[3] = wx * wy * uz;
  voteLabels[4] = l4; voteWeights[4] = ux * uy * wz;
  voteLabels[5] = l5; voteWeights[5] = wx * uy * wz;
  voteLabels[6] = l6; voteWeights[6] = ux * wy * wz;
  voteLabels[7] = l7; voteWeights[7] = wx * wy * wz;
  let best = 256;
  let bestWeight = -1;
  for (let i = 0; i < 8; i++) {
    const label = voteLabels[i]!;
    let seen = false;
    for (let j = 0; j < i; j++) if (voteLabels[j] === label) seen = true;
    if (seen) continue;
    let weight = voteWeights[i]!;
    for (let j = i + 1; j < 8; j++) if (voteLabels[j] === label) weight += voteWeights[j]!;
    // Sums of the same weights in different orders differ in the last bits; treat those as ties.
    if (weight > bestWeight + 1e-12 || (weight > bestWeight - 1e-12 && label < best)) {
      best = label;
      bestWeight = Math.max(weight, bestWeight);
    }
  }
  return best;
}

/** Any direction: the source index is stepped along x from the affine map. */
function generalSample(src: VoxelArray, sdims: Vec3, map: IndexMap, tdims: Vec3, out: VoxelArray, fill: number, mode: Interpolation): void {
  const [mx, my, mz] = map;
  const [snx, sny, snz] = sdims;
  const sxy = snx * sny;
  const lim = [-0.5 - INDEX_EPS, snx - 0.5 + INDEX_EPS, sny - 0.5 + INDEX_EPS, snz - 0.5 + INDEX_EPS];
  let o = 0;
  for (let k = 0; k < tdims[2]; k++) {
    for (let j = 0; j < tdims[1]; j++) {
      let cx = mx[1]! * j + mx[2]! * k + mx[3]!;
      let cy = my[1]! * j + my[2]! * k + my[3]!;
      let cz = mz[1]! * j + mz[2]! * k + mz[3]!;
      for (let i = 0; i < tdims[0]; i++, o++, cx += mx[0]!, cy += my[0]!, cz += mz[0]!) {
        if (cx < lim[0]! || cy < lim[0]! || cz < lim[0]! || cx > lim[1]! || cy > lim[2]! || cz > lim[3]!) {
          out[o] = fill;
          continue;
        }
        const x = cx < 0 ? 0 : cx > snx - 1 ? snx - 1 : cx;
        const y = cy < 0 ? 0 : cy > sny - 1 ? sny - 1 : cy;
        const z = cz < 0 ? 0 : cz > snz - 1 ? snz - 1 : cz;
        if (mode === 'nearest') {
          out[o] = src[Math.min(Math.floor(x + 0.5), snx - 1) + snx * Math.min(Math.floor(y + 0.5), sny - 1) + sxy * Math.min(Math.floor(z + 0.5), snz - 1)]!;
          continue;
        }
        const x0 = Math.floor(x);
        const y0 = Math.floor(y);
        const z0 = Math.floor(z);
        const x1 = x0 + 1 < snx ? x0 + 1 : x0;
        const y1 = y0 + 1 < sny ? y0 + 1 : y0;
        const z1 = z0 + 1 < snz ? z0 + 1 : z0;
        const wx = x - x0;
        const wy = y - y0;
        const wz = z - z0;
        const r00 = z0 * sxy + y0 * snx;
        const r01 = z0 * sxy + y1 * snx;
        const r10 = z1 * sxy + y0 * snx;
        const r11 = z1 * sxy + y1 * snx;
        if (mode === 'label') {
          out[o] = voteLabel(src, r00, r01, r10, r11, x0, x1, wx, wy, wz);
          continue;
        }
        const v00 = src[r00 + x0]! + wx * (src[r00 + x1]! - src[r00 + x0]!);
        const v01 = src[r01 + x0]! + wx * (src[r01 + x1]! - src[r01 + x0]!);
        const v10 = src[r10 + x0]! + wx * (src[r10 + x1]! - src[r10 + x0]!);
        const v11 = src[r11 + x0]! + wx * (src[r11 + x1]! - src[r11 + x0]!);
        const v0 = v00 + wy * (v01 - v00);
        const v1 = v10 + wy * (v11 - v10);
        out[o] = v0 + wz * (v1 - v0);
      }
    }
  }
}
