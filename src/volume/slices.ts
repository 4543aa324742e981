/**
 * Axial slices of a volume as volumes of their own (dims [nx, ny, 1]), with the geometry
 * of their place in the stack, so per-slice steps (2D models, lungmask) keep world
 * positions.
 */
import { CovsegError } from '../util/errors.js';
import { checkDims } from './checks.js';
import { createVolume, indexToWorld, type Volume, type VolumeGeometry, type VoxelArray } from './volume.js';

function checkZ(fn: string, vol: { dims: readonly number[] }, z: number): void {
  if (!(Number.isInteger(z) && z >= 0 && z < vol.dims[2]!)) {
    throw new CovsegError(`${fn}: slice ${z} is outside 0…${vol.dims[2]! - 1}; pass an integer z below nz = ${vol.dims[2]}`);
  }
}

/** Slice `z` of `vol` as a volume of dims [nx, ny, 1] at its world position (a copy). */
export function getSlice<T extends VoxelArray>(vol: Volume<T>, z: number): Volume<T> {
  checkZ('getSlice', vol, z);
  const n = vol.dims[0] * vol.dims[1];
  return createVolume(vol.data.slice(z * n, (z + 1) * n) as T, [vol.dims[0], vol.dims[1], 1], {
    spacingMm: vol.spacingMm,
    origin: indexToWorld(vol, [0, 0, z]),
    direction: vol.direction,
  });
}

/**
 * Writes `slice` (a volume of dims [nx, ny, 1] or a plain array of nx·ny values) into
 * slice `z` of `vol`, in place: the one mutating function here, so that per-slice loops
 * fill a preallocated volume without copies. Values are converted to `vol`'s array type.
 */
export function setSlice(vol: Volume, z: number, slice: Volume | VoxelArray): void {
  checkZ('setSlice', vol, z);
  const n = vol.dims[0] * vol.dims[1];
  const data = 'data' in slice ? slice.data : slice;
  if ('dims' in slice && (slice.dims[0] !== vol.dims[0] || slice.dims[1] !== vol.dims[1] || slice.dims[2] !== 1)) {
    throw new CovsegError(`setSlice: slice is [${slice.dims.join(', ')}] but the volume's slices are [${vol.dims[0]}, ${vol.dims[1]}, 1]; resize the slice to the volume's grid first`);
  }
  if (data.length !== n) {
    throw new CovsegError(`setSlice: slice has ${data.length} pixels but the volume's slices have ${vol.dims[0]} × ${vol.dims[1]} = ${n}; resize the slice to the volume's grid first`);
  }
  vol.data.set(data, z * n);
}

/**
 * Stacks slices (each a volume of dims [nx, ny, 1] or a plain array of nx·ny values) into
 * a volume on `geometry`, whose dims must be [nx, ny, slices.length]. The array type is
 * that of the first slice.
 */
export function stackSlices<T extends VoxelArray>(slices: (Volume<T> | T)[], geometry: VolumeGeometry): Volume<T> {
  checkDims('stackSlices', geometry.dims, 'geometry.dims');
  const [nx, ny, nz] = geometry.dims;
  if (slices.length === 0 || slices.length !== nz) {
    throw new CovsegError(`stackSlices: got ${slices.length} slices but geometry.dims [${geometry.dims.join(', ')}] needs ${nz}; pass one slice per z`);
  }
  const first = slices[0]!;
  const firstData = 'data' in first ? first.data : first;
  const out = createVolume(new (firstData.constructor as new (n: number) => T)(nx * ny * nz), geometry.dims, geometry);
  slices.forEach((s, z) => setSlice(out, z, s));
  return out;
}
