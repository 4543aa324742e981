/**
 * Crops and pads that keep every voxel at its world position, each with its inverse:
 * the `CropBox` they return is all `pasteBack` needs to put a result (a prediction on
 * the cropped grid) back onto the grid it was cut from.
 */
import { CovsegError } from '../util/errors.js';
import { checkDims, checkGrid, minimumOf, newArrayLike } from './checks.js';
import { createVolume, geometryOf, indexToWorld, type Vec3, type Volume, type VolumeGeometry, type VoxelArray } from './volume.js';

/** Where a cropped/padded grid sits in the grid it came from. */
export interface CropBox {
  /** The grid the box was cut from (the grid `pasteBack` returns to). */
  sourceGeometry: VolumeGeometry;
  /** Index in the source grid of the output's voxel (0, 0, 0); negative = padding on the low side. */
  offset: Vec3;
  /** Size [nx, ny, nz] of the output grid. */
  outputDims: Vec3;
}

/**
 * A bounding box of nonzero voxels, end exclusive: `lo ≤ index < hi` per axis.
 * An all-zero mask has `{ empty: true }` (a box with no voxels, not a failure).
 */
export type BoundingBox = { empty: false; lo: Vec3; hi: Vec3 } | { empty: true };

export interface CentreCropOrPadOptions {
  /** Value of padded voxels. Defaults to the volume's minimum (CT: air); masks pass 0. */
  padValue?: number;
}

export interface PasteBackOptions {
  /** Value of the source-grid voxels outside the box (what was cropped away). Defaults to 0. */
  fillValue?: number;
}

/**
 * Crops or pads each axis independently around the centre to `dims` ([nx, ny, nz]).
 * With an odd difference the extra voxel goes to the high side: cropping 5 → 2 removes
 * 1 low and 2 high voxels; padding 2 → 5 adds 1 low and 2 high voxels.
 */
export function centreCropOrPad<T extends VoxelArray>(vol: Volume<T>, dims: Vec3, options: CentreCropOrPadOptions = {}): { volume: Volume<T>; box: CropBox } {
  checkDims('centreCropOrPad', dims);
  const offset = [0, 1, 2].map((a) => Math.trunc((vol.dims[a]! - dims[a]!) / 2) + 0) as Vec3; // + 0 turns −0 into 0
  const padValue = options.padValue ?? minimumOf(vol.data);
  return extractBox(vol, offset, dims, padValue);
}

/**
 * Crops `vol` to `lo ≤ index < hi` ([x, y, z] each). The box must lie inside the grid
 * and be non-empty; use {@link centreCropOrPad} to pad.
 */
export function cropToBox<T extends VoxelArray>(vol: Volume<T>, lo: Vec3, hi: Vec3): { volume: Volume<T>; box: CropBox } {
  for (let a = 0; a < 3; a++) {
    if (!(Number.isInteger(lo[a]) && Number.isInteger(hi[a]) && lo[a]! >= 0 && lo[a]! < hi[a]! && hi[a]! <= vol.dims[a]!)) {
      throw new CovsegError(
        `cropToBox: box [${lo.join(', ')}]–[${hi.join(', ')}] does not fit the grid [${vol.dims.join(', ')}]; ` +
          'need integers with 0 ≤ lo < hi ≤ dims on every axis (an empty boundingBox has no box to crop to)',
      );
    }
  }
  return extractBox(vol, [...lo] as Vec3, [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]], 0);
}

/**
 * The inverse of {@link centreCropOrPad} / {@link cropToBox}: puts `vol` (on the box's
 * output grid) back onto `box.sourceGeometry`. Voxels that were padding are dropped;
 * voxels that were cropped away take `fillValue`.
 */
export function pasteBack<T extends VoxelArray>(vol: Volume<T>, box: CropBox, options: PasteBackOptions = {}): Volume<T> {
  if (vol.dims.some((d, a) => d !== box.outputDims[a])) {
    throw new CovsegError(
      `pasteBack: volume is [${vol.dims.join(', ')}] but the box was made for [${box.outputDims.join(', ')}]; ` +
        'paste back the output of the crop this box came from',
    );
  }
  const minus = [-box.offset[0], -box.offset[1], -box.offset[2]] as Vec3;
  const { volume } = extractBox(vol, minus, box.sourceGeometry.dims, options.fillValue ?? 0);
  return createVolume(volume.data, box.sourceGeometry.dims, box.sourceGeometry);
}

/** Bounding box of the nonzero voxels of `mask` (shape `dims` = [nx, ny, nz], x fastest), or of the voxels equal to `options.label`. */
export function boundingBox(mask: ArrayLike<number>, dims: Vec3, options: { label?: number } = {}): BoundingBox {
  checkGrid('boundingBox', mask, dims);
  const [nx, ny, nz] = dims;
  const anyLabel = options.label === undefined;
  const want = options.label ?? 0;
  let x0 = nx, y0 = ny, z0 = nz, x1 = -1, y1 = -1, z1 = -1;
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let first = -1;
      let last = -1;
      for (let x = 0; x < nx; x++, i++) {
        const v = mask[i]!;
        if (anyLabel ? v !== 0 : v === want) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first < 0) continue;
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (z < z0) z0 = z;
      z1 = z;
    }
  }
  if (x1 < 0) return { empty: true };
  return { empty: false, lo: [x0, y0, z0], hi: [x1 + 1, y1 + 1, z1 + 1] };
}

/**
 * The one copy routine behind crop, pad and paste: output voxel p = input voxel p + offset,
 * `fill` where that is outside the input.
 */
function extractBox<T extends VoxelArray>(vol: Volume<T>, offset: Vec3, dims: Vec3, fill: number): { volume: Volume<T>; box: CropBox } {
  const [nx, ny, nz] = dims;
  const [sx, sy, sz] = vol.dims;
  const out = newArrayLike(vol.data, nx * ny * nz);
  if (fill !== 0) out.fill(fill);
  // The overlap in output coordinates, per axis.
  const xLo = Math.max(0, -offset[0]), xHi = Math.min(nx, sx - offset[0]);
  const yLo = Math.max(0, -offset[1]), yHi = Math.min(ny, sy - offset[1]);
  const zLo = Math.max(0, -offset[2]), zHi = Math.min(nz, sz - offset[2]);
  if (xLo < xHi) {
    for (let z = zLo; z < zHi; z++) {
      for (let y = yLo; y < yHi; y++) {
        const from = xLo + offset[0] + sx * (y + offset[1] + sy * (z + offset[2]));
        out.set(vol.data.subarray(from, from + (xHi - xLo)), xLo + nx * (y + ny * z));
      }
    }
  }
  const volume = createVolume(out, dims, { spacingMm: vol.spacingMm, direction: vol.direction, origin: indexToWorld(vol, offset) });
  return { volume, box: { sourceGeometry: geometryOf(vol), offset: [...offset] as Vec3, outputDims: [...dims] as Vec3 } };
}
