/**
 * Argument checks shared by the volume functions. They throw CovsegError naming the
 * function and what to pass instead, so a caller deep in a pipeline sees which step
 * got a wrong grid.
 */
import { CovsegError } from '../util/errors.js';
import type { Vec3, VoxelArray } from './volume.js';

/** Throws unless `dims` holds three positive integers. */
export function checkDims(fn: string, dims: readonly number[], name = 'dims'): void {
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new CovsegError(`${fn}: ${name} must be three positive integers [nx, ny, nz], got [${dims.join(', ')}]`);
  }
}

/** Throws unless `data` has exactly nx·ny·nz voxels. */
export function checkGrid(fn: string, data: ArrayLike<number>, dims: Vec3, name = 'mask'): void {
  checkDims(fn, dims);
  const n = dims[0] * dims[1] * dims[2];
  if (data.length !== n) {
    throw new CovsegError(`${fn}: ${name} has ${data.length} voxels but dims [${dims.join(', ')}] need ${n}; pass the dims of the grid the ${name} belongs to`);
  }
}

/** Throws unless `spacingMm` holds three positive finite numbers. */
export function checkSpacing(fn: string, spacingMm: readonly number[]): void {
  if (spacingMm.length !== 3 || !spacingMm.every((s) => Number.isFinite(s) && s > 0)) {
    throw new CovsegError(`${fn}: spacingMm must be three positive numbers in mm, e.g. [0.9, 0.9, 4.5], got [${spacingMm.join(', ')}]`);
  }
}

type VoxelArrayConstructor = new (length: number) => VoxelArray;

/** A zero-filled array of the same element type as `like`. */
export function newArrayLike<T extends VoxelArray>(like: T, length: number): T {
  return new (like.constructor as VoxelArrayConstructor)(length) as T;
}

/** Smallest value of `data` (NaN ignored); +Infinity for an empty array. */
export function minimumOf(data: ArrayLike<number>): number {
  let min = Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
  }
  return min;
}
