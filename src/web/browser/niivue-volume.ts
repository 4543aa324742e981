/**
 * NiiVue's loaded image → covseg's `Volume`, so that the page's browser mode segments
 * the very image NiiVue shows, voxel for voxel. NiiVue keeps the file's voxels in file
 * order (x fastest) with the stored values (scl_slope/scl_inter unapplied) and a RAS
 * affine (rows = world axes, columns = index axes); covseg's Volume is LPS with the
 * rescale applied. The voxel order is kept, so label maps computed on the Volume lay
 * over NiiVue's image as they are.
 */
import { CovsegError } from '../../util/errors.js';
import { createVolume, type Mat3, type Vec3, type Volume, type VoxelArray } from '../../volume/volume.js';
import { integralAsInt16 } from '../../io/voxel-type.js';

/** The parts of NiiVue's NIfTI header (`nv.volumes[i].hdr`) the conversion reads. */
export interface NiivueHeader {
  /** NIfTI dim[0..7]: dims[0] is the number of dimensions, dims[1..3] the grid. */
  dims: number[];
  /** NIfTI pixdim[0..7]: pixDims[1..3] the voxel size in mm. */
  pixDims: number[];
  /** RAS affine, 4×4 rows: world = affine · [i, j, k, 1]. */
  affine: number[][];
  /** NIfTI scl_slope; 0 or NaN mean no scaling (NiiVue's rule, and the standard's). */
  scl_slope: number;
  scl_inter: number;
}

/** An image as NiiVue holds it, or as the page posts it to the worker. */
export interface NiivueImage {
  hdr: NiivueHeader;
  /** Stored voxel values, x fastest, length dims[1]·dims[2]·dims[3] (one frame). */
  img: VoxelArray;
}

export interface VolumeFromNiivueOptions {
  /** Name of the file, for error messages. Defaults to 'image'. */
  file?: string;
}

/** Relative disagreement below which pixdim is taken as the spacing, as covseg's NIfTI reader does: it is what was written. */
const PIXDIM_AGREES = 1e-4;

/** covseg's Volume of NiiVue's image: same voxels in the same order, rescaled, LPS geometry. */
export function volumeFromNiivue(image: NiivueImage, options: VolumeFromNiivueOptions = {}): Volume {
  const file = options.file ?? 'image';
  const { hdr, img } = image;
  const nd = hdr.dims[0]!;
  const size = Array.from({ length: 7 }, (_, i) => (i < nd ? Math.max(1, hdr.dims[i + 1] ?? 1) : 1));
  if (size.slice(3).some((s) => s > 1)) {
    throw new CovsegError(`a ${nd}D image (${size.slice(0, nd).join('×')}); covseg segments one 2D or 3D CT (split the series first)`, { file });
  }
  const dims: Vec3 = [size[0]!, size[1]!, size[2]!];
  const n = dims[0] * dims[1] * dims[2];
  if (img.length !== n) {
    throw new CovsegError(`NiiVue holds ${img.length} values for ${dims.join('×')} voxels (a colour or multi-component image?); covseg segments greyscale CT`, { file });
  }
  return createVolume(rescaled(img, hdr.scl_slope, hdr.scl_inter), dims, lpsGeometry(hdr, file));
}

/** value × slope + inter: int16 when every result is an int16 integer (CT), else float32, as covseg's readers keep them. */
function rescaled(img: VoxelArray, slope: number, inter: number): VoxelArray {
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && (inter === 0 || !Number.isFinite(inter)))) return img.slice();
  const out = new Float32Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = img[i]! * slope + inter;
  return integralAsInt16(out) ?? out;
}

/** Spacing, LPS origin and direction (columns = index axes) of a RAS affine. */
function lpsGeometry(hdr: NiivueHeader, file: string): { spacingMm: Vec3; origin: Vec3; direction: Mat3 } {
  const a = hdr.affine;
  if (!Array.isArray(a) || a.length < 3 || a.slice(0, 3).some((row) => !Array.isArray(row) || row.length < 4 || row.some((x) => !Number.isFinite(x)))) {
    throw new CovsegError('NiiVue gave no usable affine for this image; convert it to NIfTI and try again', { file });
  }
  // RAS → LPS: the x and y rows change sign.
  const sign = [-1, -1, 1];
  const cols = [0, 1, 2].map((j) => [0, 1, 2].map((r) => sign[r]! * a[r]![j]!));
  const norms = cols.map((c) => Math.hypot(c[0]!, c[1]!, c[2]!));
  if (!(norms[0]! > 0 && norms[1]! > 0)) throw new CovsegError('the image affine has a zero column (degenerate geometry); fix its header and try again', { file });
  const pix = [1, 2, 3].map((i) => Math.abs(hdr.pixDims[i] ?? 0) || 1);
  if (!(norms[2]! > 0)) {
    // A 2D image may leave the third column empty: along the normal of the first two, pixdim[3] long.
    const [u, v] = [cols[0]!.map((x) => x / norms[0]!), cols[1]!.map((x) => x / norms[1]!)];
    cols[2] = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!].map((x) => x * pix[2]!);
    norms[2] = pix[2]!;
  }
  const spacingMm = norms.map((s, j) => (Math.abs(s - pix[j]!) <= PIXDIM_AGREES * pix[j]! ? pix[j]! : s)) as Vec3;
  const direction = [0, 1, 2].flatMap((r) => [0, 1, 2].map((j) => cols[j]![r]! / norms[j]! + 0)) as Mat3;
  const origin: Vec3 = [sign[0]! * a[0]![3]! + 0, sign[1]! * a[1]![3]! + 0, a[2]![3]! + 0];
  return { spacingMm, origin, direction };
}
