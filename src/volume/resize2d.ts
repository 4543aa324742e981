/**
 * 2D resizing of slices with the exact coordinate conventions of the tools whose models
 * covseg runs: a model sees the same pixels here as in the framework it was trained in.
 */
import { CovsegError } from '../util/errors.js';
import { newArrayLike } from './checks.js';
import { createVolume, type Vec3, type Volume, type VoxelArray } from './volume.js';

/**
 * Where output pixel `dst` samples the input (per axis; `in`, `out` = sizes):
 * - `'bilinear'`: half-pixel centres, src = (dst + 0.5)·in/out − 0.5, clamped to the
 *   edge pixels (torch `interpolate(align_corners=False)`, OpenCV INTER_LINEAR upsampling).
 * - `'bilinear-align-corners'`: src = dst·zoom with zoom = (in − 1)/(out − 1) (0 when
 *   out = 1): corner pixel centres stay on corner pixel centres (scipy.ndimage.zoom
 *   order=1, grid_mode=False, which lungmask uses for CT; zoom is computed first, as
 *   scipy does, so the weights match to the last bit).
 * - `'nearest'`: src = min(floor(dst·in/out), in − 1) (OpenCV INTER_NEAREST).
 * - `'nearest-align-corners'`: src = floor(dst·zoom + 0.5), zoom as above (scipy.ndimage.zoom
 *   order=0, grid_mode=False, which lungmask uses for masks).
 */
export type Resize2dInterpolation = 'bilinear' | 'bilinear-align-corners' | 'nearest' | 'nearest-align-corners';

const MODES: readonly Resize2dInterpolation[] = ['bilinear', 'bilinear-align-corners', 'nearest', 'nearest-align-corners'];
const isNearest = (mode: Resize2dInterpolation) => mode === 'nearest' || mode === 'nearest-align-corners';

export interface ResizeSliceOptions {
  /** Sampling convention, see {@link Resize2dInterpolation}. Defaults to 'bilinear'. */
  interpolation?: Resize2dInterpolation;
}

/** Per output index: the two input indices and the weight of the second. */
interface AxisSamples {
  i0: Int32Array;
  i1: Int32Array;
  w: Float64Array;
}

function axisSamples(nIn: number, nOut: number, mode: Resize2dInterpolation): AxisSamples {
  const s: AxisSamples = { i0: new Int32Array(nOut), i1: new Int32Array(nOut), w: new Float64Array(nOut) };
  const zoom = nOut > 1 ? (nIn - 1) / (nOut - 1) : 0;
  for (let d = 0; d < nOut; d++) {
    if (isNearest(mode)) {
      const i = mode === 'nearest' ? Math.floor((d * nIn) / nOut) : Math.floor(d * zoom + 0.5);
      s.i0[d] = Math.min(i, nIn - 1);
      s.i1[d] = s.i0[d]!;
      continue;
    }
    let c = mode === 'bilinear' ? ((d + 0.5) * nIn) / nOut - 0.5 : d * zoom;
    c = c < 0 ? 0 : c > nIn - 1 ? nIn - 1 : c;
    const i0 = Math.floor(c);
    s.i0[d] = i0;
    s.i1[d] = i0 + 1 < nIn ? i0 + 1 : i0;
    s.w[d] = c - i0;
  }
  return s;
}

/**
 * Resizes one slice (`data` of shape [height][width], x fastest) to outWidth × outHeight.
 * Bilinear modes return a Float32Array; nearest modes keep the input's array type.
 */
export function resizeSlice(data: VoxelArray, width: number, height: number, outWidth: number, outHeight: number, options: ResizeSliceOptions = {}): VoxelArray {
  const mode = options.interpolation ?? 'bilinear';
  checkResize(data, width, height, outWidth, outHeight, mode, 1);
  const out = isNearest(mode) ? newArrayLike(data, outWidth * outHeight) : new Float32Array(outWidth * outHeight);
  resizeInto(data, 0, width, height, out, 0, outWidth, outHeight, axisSamples(width, outWidth, mode), axisSamples(height, outHeight, mode), isNearest(mode));
  return out;
}

function checkResize(data: VoxelArray, width: number, height: number, outWidth: number, outHeight: number, mode: string, slices: number): void {
  if (!MODES.includes(mode as Resize2dInterpolation)) {
    throw new CovsegError(`resizeSlice: interpolation '${mode}' is not one of ${MODES.join(', ')}`);
  }
  for (const [name, v] of [['width', width], ['height', height], ['outWidth', outWidth], ['outHeight', outHeight]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new CovsegError(`resizeSlice: ${name} must be a positive integer, got ${v}`);
  }
  if (data.length !== width * height * slices) {
    throw new CovsegError(`resizeSlice: data has ${data.length} pixels but ${width} × ${height}${slices > 1 ? ` × ${slices}` : ''} need ${width * height * slices}; pass the slice's own size`);
  }
}

function resizeInto(
  src: VoxelArray, srcOffset: number, width: number, height: number,
  dst: VoxelArray, dstOffset: number, outWidth: number, outHeight: number,
  xs: AxisSamples, ys: AxisSamples, nearest: boolean,
): void {
  let o = dstOffset;
  for (let y = 0; y < outHeight; y++) {
    const r0 = srcOffset + ys.i0[y]! * width;
    if (nearest) {
      for (let x = 0; x < outWidth; x++) dst[o++] = src[r0 + xs.i0[x]!]!;
      continue;
    }
    const r1 = srcOffset + ys.i1[y]! * width;
    const wy = ys.w[y]!;
    for (let x = 0; x < outWidth; x++) {
      const a = xs.i0[x]!;
      const b = xs.i1[x]!;
      const wx = xs.w[x]!;
      const top = src[r0 + a]! + wx * (src[r0 + b]! - src[r0 + a]!);
      const bottom = src[r1 + a]! + wx * (src[r1 + b]! - src[r1 + a]!);
      dst[o++] = top + wy * (bottom - top);
    }
  }
}

/**
 * Resizes every z-slice of `vol` to outWidth × outHeight. The spacing becomes
 * spacing·in/out so that the slice's physical extent (outer pixel edges) is unchanged, and
 * the origin moves by half the spacing change so that those edges stay in place. (With
 * the align-corners modes the samples follow the corner-centre convention instead; the
 * geometry still describes the extent.)
 */
export function resizeSlices(vol: Volume, outWidth: number, outHeight: number, options: ResizeSliceOptions = {}): Volume {
  const mode = options.interpolation ?? 'bilinear';
  const [nx, ny, nz] = vol.dims;
  checkResize(vol.data, nx, ny, outWidth, outHeight, mode, nz);
  const n = outWidth * outHeight;
  const out = isNearest(mode) ? newArrayLike(vol.data, n * nz) : new Float32Array(n * nz);
  const xs = axisSamples(nx, outWidth, mode);
  const ys = axisSamples(ny, outHeight, mode);
  for (let z = 0; z < nz; z++) resizeInto(vol.data, z * nx * ny, nx, ny, out, z * n, outWidth, outHeight, xs, ys, isNearest(mode));
  const spacingMm: Vec3 = [(vol.spacingMm[0] * nx) / outWidth, (vol.spacingMm[1] * ny) / outHeight, vol.spacingMm[2]];
  const dx = (spacingMm[0] - vol.spacingMm[0]) / 2;
  const dy = (spacingMm[1] - vol.spacingMm[1]) / 2;
  const d = vol.direction;
  const origin: Vec3 = [vol.origin[0] + d[0] * dx + d[1] * dy, vol.origin[1] + d[3] * dx + d[4] * dy, vol.origin[2] + d[6] * dx + d[7] * dy];
  return createVolume(out, [outWidth, outHeight, nz], { spacingMm, origin, direction: vol.direction });
}
