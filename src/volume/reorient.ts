/**
 * Reorientation by axis permutation and flips only (no resampling): array order becomes
 * x → patient left, y → posterior, z → superior as far as the direction matrix allows,
 * while every voxel keeps its world position. `undoReorient` puts results back on the
 * original axes and geometry.
 */
import { CovsegError } from '../util/errors.js';
import { newArrayLike } from './checks.js';
import { createVolume, geometryOf, indexToWorld, type Mat3, type Vec3, type Volume, type VolumeGeometry, type VoxelArray } from './volume.js';

/** How `reorientToLps` reordered the axes, and the grid to return to. */
export interface ReorientTransform {
  /** axes[w] = the input index axis that output axis w comes from. */
  axes: Vec3;
  /** flips[w] = output axis w runs against its input axis. */
  flips: [boolean, boolean, boolean];
  /** The input grid, restored exactly by `undoReorient`. */
  sourceGeometry: VolumeGeometry;
}

const PERMUTATIONS: Vec3[] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
/** Letter for [world axis][positive?]: LPS world, so +x = L, +y = P, +z = S. */
const LETTERS = [['R', 'L'], ['A', 'P'], ['I', 'S']] as const;

/**
 * World axis of each index axis: the assignment (a permutation) with the largest sum of
 * |cosines|, so that a 45° oblique grid still gets three distinct axes. Ties → the first
 * permutation in lexicographic order (identity first).
 */
function worldAxisOf(direction: Mat3): Vec3 {
  let best = PERMUTATIONS[0]!;
  let bestScore = -1;
  for (const p of PERMUTATIONS) {
    // p[j] = world axis of index axis j; direction[3·w + j] is its cosine.
    const score = Math.abs(direction[3 * p[0]]!) + Math.abs(direction[3 * p[1] + 1]!) + Math.abs(direction[3 * p[2] + 2]!);
    if (score > bestScore + 1e-12) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}

/**
 * ITK-style orientation code: for each index axis (x, y, z) the letter of the LPS world
 * direction it points *towards* (L/R, P/A, S/I). The identity direction is 'LPS'.
 * A NIfTI whose affine is diagonal with positive entries (RAS+ storage) comes out of ITK
 * (which negates x and y to go from RAS to LPS) with direction diag(−1, −1, 1): code
 * 'RAS'; a radiological NIfTI (negative x scale) gives 'LAS'. A DICOM axial series
 * sorted by increasing z is 'LPS'. `direction` is row-major, column j = index axis j.
 */
export function orientationCode(direction: Mat3): string {
  const world = worldAxisOf(direction);
  let code = '';
  for (let j = 0; j < 3; j++) code += LETTERS[world[j]!]![direction[3 * world[j]! + j]! >= 0 ? 1 : 0];
  return code;
}

/**
 * Reorders the axes and flips them so that index axis w points along world axis w
 * (x → L, y → P, z → S), choosing for each world axis the index axis with the largest
 * |cosine|. The result's direction is the input's columns permuted and negated (identity
 * for a non-oblique grid); its origin is the world position of the new voxel 0, so
 * every voxel keeps its world position. The data is always a copy.
 */
export function reorientToLps<T extends VoxelArray>(vol: Volume<T>): { volume: Volume<T>; transform: ReorientTransform } {
  const world = worldAxisOf(vol.direction);
  const axes = [0, 0, 0] as Vec3;
  const flips: [boolean, boolean, boolean] = [false, false, false];
  for (let j = 0; j < 3; j++) {
    axes[world[j]!] = j;
    flips[world[j]!] = vol.direction[3 * world[j]! + j]! < 0;
  }
  const volume = permuteAxes(vol, axes, flips);
  return { volume, transform: { axes, flips, sourceGeometry: geometryOf(vol) } };
}

/** The inverse of {@link reorientToLps}: `vol` (on the reoriented grid) back on the original axes and geometry. */
export function undoReorient<T extends VoxelArray>(vol: Volume<T>, transform: ReorientTransform): Volume<T> {
  const source = transform.sourceGeometry;
  const expected = transform.axes.map((a) => source.dims[a]!);
  if (vol.dims.some((d, w) => d !== expected[w])) {
    throw new CovsegError(
      `undoReorient: volume is [${vol.dims.join(', ')}] but the transform expects [${expected.join(', ')}]; ` +
        'pass a volume on the grid that reorientToLps returned with this transform',
    );
  }
  const axes = [0, 0, 0] as Vec3;
  const flips: [boolean, boolean, boolean] = [false, false, false];
  for (let w = 0; w < 3; w++) {
    axes[transform.axes[w]!] = w;
    flips[transform.axes[w]!] = transform.flips[w]!;
  }
  const back = permuteAxes(vol, axes, flips);
  return createVolume(back.data, source.dims, source);
}

/** True when `transform` moves nothing: the volume was already in LPS order. */
export function isIdentityReorient(transform: ReorientTransform): boolean {
  return transform.axes.every((a, w) => a === w) && transform.flips.every((f) => !f);
}

/**
 * `vol` in LPS order, to read: `vol` itself when its axes already run that way, else
 * {@link reorientToLps}'s copy. For functions that only read the reoriented voxels and
 * write their results into new arrays, so that a volume already in LPS order — as the
 * segment pipeline passes them, having reoriented once — costs no copy. Do not modify
 * the result's data: it may be the caller's.
 */
export function asLps<T extends VoxelArray>(vol: Volume<T>): { volume: Volume<T>; transform: ReorientTransform } {
  const world = worldAxisOf(vol.direction);
  if (world.every((a, j) => a === j && vol.direction[4 * j]! >= 0)) {
    return { volume: vol, transform: { axes: [0, 1, 2], flips: [false, false, false], sourceGeometry: geometryOf(vol) } };
  }
  return reorientToLps(vol);
}

/**
 * The inverse of {@link asLps}: {@link undoReorient}, except that for the identity
 * transform `vol`'s data is shared, not copied (the caller's new result array, returned
 * on the source geometry).
 */
export function fromLps<T extends VoxelArray>(vol: Volume<T>, transform: ReorientTransform): Volume<T> {
  if (!isIdentityReorient(transform)) return undoReorient(vol, transform);
  const source = transform.sourceGeometry;
  if (vol.dims.some((d, w) => d !== source.dims[w])) return undoReorient(vol, transform);
  return createVolume(vol.data, source.dims, source);
}

/** out(i) = in(j) with j[axes[w]] = flips[w] ? n − 1 − i[w] : i[w]. */
function permuteAxes<T extends VoxelArray>(vol: Volume<T>, axes: Vec3, flips: [boolean, boolean, boolean]): Volume<T> {
  const inStride = [1, vol.dims[0], vol.dims[0] * vol.dims[1]];
  const dims = axes.map((a) => vol.dims[a]!) as Vec3;
  const step = axes.map((a, w) => (flips[w] ? -inStride[a]! : inStride[a]!));
  const firstIndex = [0, 0, 0] as Vec3;
  let base = 0;
  for (let w = 0; w < 3; w++) {
    if (flips[w]) {
      firstIndex[axes[w]!] = dims[w]! - 1;
      base += (dims[w]! - 1) * inStride[axes[w]!]!;
    }
  }
  const src = vol.data;
  const out = newArrayLike(src, src.length);
  const [nx, ny, nz] = dims;
  const [sx, sy, sz] = step as [number, number, number];
  if (sx === 1) {
    // x stays x unflipped (the usual case): whole rows copy at once.
    let o = 0;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++, o += nx) {
        const from = base + y * sy + z * sz;
        out.set(src.subarray(from, from + nx), o);
      }
    }
  } else {
    let o = 0;
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        let i = base + y * sy + z * sz;
        for (let x = 0; x < nx; x++, i += sx) out[o++] = src[i]!;
      }
    }
  }
  const d = vol.direction;
  const direction = [0, 0, 0, 0, 0, 0, 0, 0, 0] as Mat3;
  for (let w = 0; w < 3; w++) {
    const sign = flips[w] ? -1 : 1;
    for (let r = 0; r < 3; r++) direction[3 * r + w] = sign * d[3 * r + axes[w]!]! + 0; // + 0: no −0 entries
  }
  return createVolume(out, dims, {
    spacingMm: axes.map((a) => vol.spacingMm[a]!) as Vec3,
    origin: indexToWorld(vol, firstIndex),
    direction,
  });
}
