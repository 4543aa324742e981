/**
 * Binary morphology on masks with scipy.ndimage's semantics, including its default
 * `border_value=0`: the outside of the grid is background, so erosion (and therefore
 * closing) eats into objects that touch the grid border. lungmask's body mask relies on
 * that behaviour.
 *
 * Both structuring elements reduce to 1-voxel shifts along the axes: the cross is the
 * union of the axis lines (dilation = OR of the shifts, erosion = AND), the box is their
 * Minkowski sum (one line pass per axis in sequence). No neighbour offset tables, no
 * per-voxel bounds checks.
 */
import { CovsegError } from '../util/errors.js';
import { checkGrid } from './checks.js';
import { componentRuns, type Connectivity } from './components.js';
import { distanceTransform, type DistanceMap } from './distance.js';
import type { Vec3 } from './volume.js';

export interface MorphologyOptions {
  /**
   * Structuring element:
   * - `'cross'`: the voxel and its face neighbours (scipy generate_binary_structure(rank, 1)).
   * - `'box'`: the full 3×3 (2D) or 3×3×3 (3D) block (generate_binary_structure(rank, rank)).
   * Defaults to 'cross'.
   */
  structure?: 'cross' | 'box';
  /** How many times the operation is repeated (closing: that many dilations, then as many erosions). Defaults to 1. */
  iterations?: number;
  /**
   * - `'3d'`: the structure is 3D (on a single slice, erosion then sees background above and below).
   * - `'2d'`: each z-slice on its own, with the 2D structure.
   * Defaults to '3d'.
   */
  plane?: '2d' | '3d';
}

type Op = 'dilate' | 'erode';

/** Dilation of `mask` (shape `dims` = [nx, ny, nz], nonzero = foreground); output 0/1. */
export function dilate(mask: ArrayLike<number>, dims: Vec3, options: MorphologyOptions = {}): Uint8Array {
  return repeat('dilate', mask, dims, options, ['dilate']);
}

/** Erosion of `mask` (shape `dims`), outside of the grid = background; output 0/1. */
export function erode(mask: ArrayLike<number>, dims: Vec3, options: MorphologyOptions = {}): Uint8Array {
  return repeat('erode', mask, dims, options, ['erode']);
}

/** Closing (dilations, then as many erosions) of `mask` (shape `dims`); output 0/1. Objects touching the border lose voxels there, as in scipy. */
export function close(mask: ArrayLike<number>, dims: Vec3, options: MorphologyOptions = {}): Uint8Array {
  return repeat('close', mask, dims, options, ['dilate', 'erode']);
}

/**
 * Closing of one 2D plane (`width` × `height`, x fastest) with a disk of radius `radiusMm`:
 * the exact Euclidean dilation, then erosion (two distance transforms), so the disk is round
 * whatever its size (repeated 3×3 steps give a diamond or a square). Unlike {@link close},
 * the outside of the plane is background on both steps (the plane is padded), so nothing
 * is eaten at the border and nothing grows into it. Output 0/1, ⊇ the mask.
 */
export function closeDisk2d(mask: ArrayLike<number>, width: number, height: number, spacingMm: readonly [number, number], radiusMm: number): Uint8Array {
  checkGrid('closeDisk2d', mask, [width, height, 1]);
  if (!(radiusMm >= 0 && Number.isFinite(radiusMm))) throw new CovsegError(`closeDisk2d: radiusMm must be a finite number ≥ 0, got ${radiusMm}`);
  const [sx, sy] = spacingMm;
  const out = new Uint8Array(width * height);
  // The closing lies within the mask's bounding box: work on that box, padded by the disk's reach.
  let x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  if (x1 < 0) return out;
  const px = Math.ceil(radiusMm / sx) + 1, py = Math.ceil(radiusMm / sy) + 1;
  const pw = x1 - x0 + 1 + 2 * px, ph = y1 - y0 + 1 + 2 * py;
  const dims: Vec3 = [pw, ph, 1], spacing: Vec3 = [sx, sy, 1];
  const padded = new Uint8Array(pw * ph), outside = new Uint8Array(pw * ph).fill(1);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!mask[y * width + x]) continue;
      const j = (y - y0 + py) * pw + x - x0 + px;
      padded[j] = 1;
      outside[j] = 0;
    }
  }
  // Dilation: every voxel within the radius of the mask (its distance to the mask, from the complement's transform).
  const toMask = distanceTransform(outside, dims, spacing);
  const dilated = new Uint8Array(pw * ph);
  for (let j = 0; j < dilated.length; j++) dilated[j] = padded[j] || distanceAt(toMask, j % pw, Math.floor(j / pw)) <= radiusMm ? 1 : 0;
  // Erosion: what lies farther than the radius from everything the dilation did not reach.
  const toOutside = distanceTransform(dilated, dims, spacing);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const u = x - x0 + px, v = y - y0 + py;
      out[y * width + x] = padded[v * pw + u] || distanceAt(toOutside, u, v) > radiusMm ? 1 : 0;
    }
  }
  return out;
}

/** A 2D distance map's value at (x, y) of its source plane; 0 (background) outside its box. */
function distanceAt(map: DistanceMap, x: number, y: number): number {
  if (map.empty || x < map.lo[0] || x >= map.hi[0] || y < map.lo[1] || y >= map.hi[1]) return 0;
  return map.distanceMm[(y - map.lo[1]) * map.dims[0] + (x - map.lo[0])]!;
}

/** Opening (erosions, then as many dilations) of `mask` (shape `dims`); output 0/1. */
export function open(mask: ArrayLike<number>, dims: Vec3, options: MorphologyOptions = {}): Uint8Array {
  return repeat('open', mask, dims, options, ['erode', 'dilate']);
}

function repeat(fn: string, mask: ArrayLike<number>, dims: Vec3, options: MorphologyOptions, ops: Op[]): Uint8Array {
  checkGrid(fn, mask, dims);
  const iterations = options.iterations ?? 1;
  if (!(Number.isInteger(iterations) && iterations >= 1)) {
    throw new CovsegError(`${fn}: iterations must be a positive integer, got ${iterations}`);
  }
  const structure = options.structure ?? 'cross';
  if (structure !== 'cross' && structure !== 'box') {
    throw new CovsegError(`${fn}: structure '${String(structure)}' is not one of cross, box`);
  }
  const plane = options.plane ?? '3d';
  if (plane !== '2d' && plane !== '3d') {
    throw new CovsegError(`${fn}: plane '${String(plane)}' is not one of 2d, 3d`);
  }
  const axes = plane === '2d' ? [0, 1] : [0, 1, 2];
  let cur = binarise(mask);
  for (const op of ops) {
    for (let it = 0; it < iterations; it++) {
      cur = structure === 'cross' ? crossStep(cur, dims, axes, op) : boxStep(cur, dims, axes, op);
    }
  }
  return cur;
}

function binarise(mask: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  return out;
}

function crossStep(src: Uint8Array, dims: Vec3, axes: number[], op: Op): Uint8Array {
  const dst = src.slice();
  for (const axis of axes) {
    shiftCombine(dst, src, dims, axis, -1, op);
    shiftCombine(dst, src, dims, axis, 1, op);
  }
  return dst;
}

function boxStep(src: Uint8Array, dims: Vec3, axes: number[], op: Op): Uint8Array {
  let cur = src;
  for (const axis of axes) {
    const next = cur.slice();
    shiftCombine(next, cur, dims, axis, -1, op);
    shiftCombine(next, cur, dims, axis, 1, op);
    cur = next;
  }
  return cur;
}

/**
 * dst[p] |= src[p + dir·e_axis] (dilate) or dst[p] &= src[p + dir·e_axis] (erode), where a
 * neighbour outside the grid is 0: erosion clears the voxels on that face.
 */
function shiftCombine(dst: Uint8Array, src: Uint8Array, dims: Vec3, axis: number, dir: number, op: Op): void {
  const inner = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
  const n = dims[axis]!;
  const outer = dims[0] * dims[1] * dims[2] / (inner * n);
  const shift = dir * inner;
  // Positions along the axis whose neighbour in direction `dir` exists.
  const pLo = dir < 0 ? 1 : 0;
  const pHi = dir < 0 ? n : n - 1;
  const edge = dir < 0 ? 0 : n - 1;
  const aligned = dst.byteOffset % 4 === 0 && src.byteOffset % 4 === 0;
  if (axis === 0 && aligned && LITTLE_ENDIAN && n % 4 === 0) {
    shiftRowsWords(dst, src, n, dir, op);
    return;
  }
  if (inner % 4 === 0 && aligned) {
    // Rows and planes are whole 32-bit words: combine 4 voxels per operation.
    const d32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.length >>> 2);
    const s32 = new Uint32Array(src.buffer, src.byteOffset, src.length >>> 2);
    const inner32 = inner >>> 2;
    const shift32 = dir * inner32;
    for (let o = 0; o < outer; o++) {
      const block = o * n * inner32;
      const e = block + pHi * inner32;
      if (op === 'dilate') {
        for (let i = block + pLo * inner32; i < e; i++) d32[i] |= s32[i + shift32]!;
      } else {
        for (let i = block + pLo * inner32; i < e; i++) d32[i] &= s32[i + shift32]!;
        d32.fill(0, block + edge * inner32, block + (edge + 1) * inner32);
      }
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    const block = o * n * inner;
    if (op === 'dilate') {
      for (let i = block + pLo * inner, e = block + pHi * inner; i < e; i++) dst[i] |= src[i + shift]!;
    } else {
      for (let i = block + pLo * inner, e = block + pHi * inner; i < e; i++) dst[i] &= src[i + shift]!;
      dst.fill(0, block + edge * inner, block + (edge + 1) * inner);
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The x-axis shift on rows of nx (a multiple of 4) voxels, 4 voxels per word: on a
 * little-endian word the voxel at x − 1 is the byte below, so the shifted row is
 * (w << 8) | (previous word >>> 24), with 0 coming in at the row start (outside = 0).
 */
function shiftRowsWords(dst: Uint8Array, src: Uint8Array, nx: number, dir: number, op: Op): void {
  const d32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.length >>> 2);
  const s32 = new Uint32Array(src.buffer, src.byteOffset, src.length >>> 2);
  const rowWords = nx >>> 2;
  const rows = d32.length / rowWords;
  for (let r = 0; r < rows; r++) {
    const first = r * rowWords;
    const last = first + rowWords - 1;
    if (dir < 0) {
      let carry = 0;
      for (let i = first; i <= last; i++) {
        const w = s32[i]!;
        const shifted = (w << 8) | carry;
        carry = w >>> 24;
        if (op === 'dilate') d32[i] |= shifted;
        else d32[i] &= shifted;
      }
    } else {
      let carry = 0;
      for (let i = last; i >= first; i--) {
        const w = s32[i]!;
        const shifted = (w >>> 8) | carry;
        carry = w << 24;
        if (op === 'dilate') d32[i] |= shifted;
        else d32[i] &= shifted;
      }
    }
  }
}

export interface FillHolesOptions {
  /**
   * - `'3d'`: background connected to the grid border is outside; the rest is holes.
   * - `'2d'`: the same per z-slice, connected to the slice border.
   * Defaults to '3d'.
   */
  plane?: '2d' | '3d';
  /** Fill only holes of at most this many voxels (lungmask: 64 pixels per slice). Defaults to no limit. */
  maxHoleSize?: number;
  /**
   * How background voxels connect (to the border and to each other), see {@link Connectivity}:
   * 4 or 8 with plane '2d', 6, 18 or 26 with '3d'. Larger values leave fewer holes, since a
   * pocket open to the outside only diagonally then counts as outside. Defaults to 4 in 2D and
   * 6 in 3D (scipy binary_fill_holes' default structure).
   */
  connectivity?: Connectivity;
}

/**
 * Fills the holes of `mask` (shape `dims` = [nx, ny, nz], nonzero = foreground): background
 * not reachable from the grid border (scipy binary_fill_holes). Output 0/1.
 */
export function fillHoles(mask: ArrayLike<number>, dims: Vec3, options: FillHolesOptions = {}): Uint8Array {
  checkGrid('fillHoles', mask, dims);
  const plane = options.plane ?? '3d';
  if (plane !== '2d' && plane !== '3d') throw new CovsegError(`fillHoles: plane '${String(plane)}' is not one of 2d, 3d`);
  const maxHoleSize = options.maxHoleSize ?? Infinity;
  if (!(maxHoleSize >= 0)) throw new CovsegError(`fillHoles: maxHoleSize must be a voxel count ≥ 0, got ${maxHoleSize}`);
  const connectivity = options.connectivity ?? (plane === '2d' ? 4 : 6);
  const allowed: Connectivity[] = plane === '2d' ? [4, 8] : [6, 18, 26];
  if (!allowed.includes(connectivity)) {
    throw new CovsegError(`fillHoles: connectivity ${connectivity} does not fit plane '${plane}'; use ${allowed.join(', ')}`);
  }
  const [nx, ny, nz] = dims;
  const runs = componentRuns(mask, dims, { of: 'zero', connectivity });
  const isHole = new Uint8Array(runs.sizes.length);
  for (let k = 1; k < runs.sizes.length; k++) isHole[k] = runs.sizes[k]! <= maxHoleSize ? 1 : 0;
  for (let i = 0; i < runs.count; i++) {
    const row = runs.row[i]!;
    const y = row % ny;
    const z = (row - y) / ny;
    const onBorder = runs.start[i] === 0 || runs.end[i] === nx - 1 || y === 0 || y === ny - 1 || (plane === '3d' && (z === 0 || z === nz - 1));
    if (onBorder) isHole[runs.label[i]!] = 0;
  }
  const out = binarise(mask);
  for (let i = 0; i < runs.count; i++) {
    if (!isHole[runs.label[i]!]) continue;
    const base = runs.row[i]! * nx;
    out.fill(1, base + runs.start[i]!, base + runs.end[i]! + 1);
  }
  return out;
}
