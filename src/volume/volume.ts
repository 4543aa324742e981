/**
 * The one image type of covseg: a 3D grid of voxels with its physical geometry,
 * in ITK's LPS world convention (x → patient left, y → posterior, z → superior).
 *
 * Voxel order: x fastest, then y, then z: `index = x + nx * (y + ny * z)`.
 * A 2D slice is a Volume with `dims[2] === 1`. A label map (lung mask, lesion mask)
 * is a `Volume<Uint8Array>`.
 */
import { CovsegError } from '../util/errors.js';

export type VoxelArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

export type Vec3 = [number, number, number];

/**
 * 3×3 direction cosines, row-major: `direction[3 * row + col]`.
 * Column `j` is the unit world (LPS) direction of index axis `j`, as in ITK.
 */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export interface Volume<T extends VoxelArray = VoxelArray> {
  /** Voxel values, x fastest. Length = dims[0] * dims[1] * dims[2]. */
  data: T;
  /** Grid size [nx, ny, nz]. */
  dims: Vec3;
  /** Voxel size in mm along each index axis. */
  spacingMm: Vec3;
  /** World (LPS, mm) position of the centre of voxel (0, 0, 0). */
  origin: Vec3;
  /** Direction cosines, see {@link Mat3}. */
  direction: Mat3;
}

export type LabelMap = Volume<Uint8Array>;

export const IDENTITY_DIRECTION: Mat3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

export interface VolumeGeometry {
  dims: Vec3;
  spacingMm: Vec3;
  origin: Vec3;
  direction: Mat3;
}

/** Creates a volume, checking that the data length matches the grid. */
export function createVolume<T extends VoxelArray>(
  data: T,
  dims: Vec3,
  geometry: Partial<Omit<VolumeGeometry, 'dims'>> = {},
): Volume<T> {
  const n = dims[0] * dims[1] * dims[2];
  if (!dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new CovsegError(`createVolume: dims must be positive integers, got [${dims.join(', ')}]`);
  }
  if (data.length !== n) {
    throw new CovsegError(`createVolume: data has ${data.length} voxels but dims [${dims.join(', ')}] need ${n}`);
  }
  const spacingMm = geometry.spacingMm ?? [1, 1, 1];
  if (!spacingMm.every((s) => Number.isFinite(s) && s > 0)) {
    throw new CovsegError(`createVolume: spacing must be positive, got [${spacingMm.join(', ')}] mm`);
  }
  return {
    data,
    dims: [...dims] as Vec3,
    spacingMm: [...spacingMm] as Vec3,
    origin: [...(geometry.origin ?? [0, 0, 0])] as Vec3,
    direction: [...(geometry.direction ?? IDENTITY_DIRECTION)] as Mat3,
  };
}

/** A new volume on the same grid as `like`, holding `data`. */
export function withData<T extends VoxelArray>(like: VolumeGeometry, data: T): Volume<T> {
  return createVolume(data, like.dims, like);
}

/** The geometry of a volume, without its voxels. */
export function geometryOf(vol: VolumeGeometry): VolumeGeometry {
  return {
    dims: [...vol.dims] as Vec3,
    spacingMm: [...vol.spacingMm] as Vec3,
    origin: [...vol.origin] as Vec3,
    direction: [...vol.direction] as Mat3,
  };
}

export function voxelCount(vol: { dims: Vec3 }): number {
  return vol.dims[0] * vol.dims[1] * vol.dims[2];
}

/** Volume of one voxel in millilitres (1 mL = 1000 mm³). */
export function voxelVolumeMl(vol: { spacingMm: Vec3 }): number {
  return (vol.spacingMm[0] * vol.spacingMm[1] * vol.spacingMm[2]) / 1000;
}

/** World (LPS, mm) position of continuous index `ijk`. */
export function indexToWorld(vol: VolumeGeometry, ijk: Vec3): Vec3 {
  const d = vol.direction;
  const s = [ijk[0] * vol.spacingMm[0], ijk[1] * vol.spacingMm[1], ijk[2] * vol.spacingMm[2]];
  return [
    vol.origin[0] + d[0] * s[0]! + d[1] * s[1]! + d[2] * s[2]!,
    vol.origin[1] + d[3] * s[0]! + d[4] * s[1]! + d[5] * s[2]!,
    vol.origin[2] + d[6] * s[0]! + d[7] * s[1]! + d[8] * s[2]!,
  ];
}

/**
 * Continuous index of world point `p`. Uses the inverse of the direction matrix,
 * so it is exact for any (also non-orthogonal) direction.
 */
export function worldToIndex(vol: VolumeGeometry, p: Vec3): Vec3 {
  const inv = invert3(vol.direction);
  const q = [p[0] - vol.origin[0], p[1] - vol.origin[1], p[2] - vol.origin[2]];
  return [
    (inv[0] * q[0]! + inv[1] * q[1]! + inv[2] * q[2]!) / vol.spacingMm[0],
    (inv[3] * q[0]! + inv[4] * q[1]! + inv[5] * q[2]!) / vol.spacingMm[1],
    (inv[6] * q[0]! + inv[7] * q[1]! + inv[8] * q[2]!) / vol.spacingMm[2],
  ];
}

/** World position of the centre of the grid (the point preserved by resampling). */
export function physicalCentre(vol: VolumeGeometry): Vec3 {
  return indexToWorld(vol, [(vol.dims[0] - 1) / 2, (vol.dims[1] - 1) / 2, (vol.dims[2] - 1) / 2]);
}

export function invert3(m: Mat3): Mat3 {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) throw new CovsegError(`direction matrix is singular: [${m.join(', ')}]; a direction needs three independent axes`);
  return [
    A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
    B / det, (a * i - c * g) / det, -(a * f - c * d) / det,
    C / det, -(a * h - b * g) / det, (a * e - b * d) / det,
  ];
}
