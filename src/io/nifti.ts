/**
 * NIfTI-1/2 single files (.nii, .nii.gz), read and written by hand.
 *
 * Reading: itk-wasm's NIfTI reader zero-fills a truncated file without a word, and the
 * whole file has to be inflated anyway, so decoding here costs nothing and catches it.
 * Writing: the data is gzipped at level 1 in a stream (2× faster than itk's level) and
 * both the sform (exact affine) and the qform (rigid part) are set, as viewers differ in
 * which they use.
 *
 * NIfTI stores RAS world coordinates; Volume is LPS, so x and y of the origin and of the
 * direction rows change sign on the way in and out.
 */
import { CovsegError } from '../util/errors.js';
import { createVolume, type Mat3, type Vec3, type Volume, type VoxelArray } from '../volume/volume.js';
import { rasterToGrey } from './raster.js';
import { voxelTypeOf, type VoxelType } from './voxel-type.js';

/** NIfTI-1 header size; the data starts after 4 more bytes (the empty extension flag). */
export const NIFTI1_HEADER_BYTES = 348;
export const NIFTI1_VOX_OFFSET = 352;

/** NIfTI datatype codes, bytes per voxel, and typed-array views, by voxel type. */
const DATATYPES: Record<VoxelType, { code: number; bytes: number; view: (buf: ArrayBuffer, offset: number, n: number) => VoxelArray }> = {
  uint8: { code: 2, bytes: 1, view: (b, o, n) => new Uint8Array(b, o, n) },
  int16: { code: 4, bytes: 2, view: (b, o, n) => new Int16Array(b, o, n) },
  int32: { code: 8, bytes: 4, view: (b, o, n) => new Int32Array(b, o, n) },
  float32: { code: 16, bytes: 4, view: (b, o, n) => new Float32Array(b, o, n) },
  float64: { code: 64, bytes: 8, view: (b, o, n) => new Float64Array(b, o, n) },
  int8: { code: 256, bytes: 1, view: (b, o, n) => new Int8Array(b, o, n) },
  uint16: { code: 512, bytes: 2, view: (b, o, n) => new Uint16Array(b, o, n) },
  uint32: { code: 768, bytes: 4, view: (b, o, n) => new Uint32Array(b, o, n) },
};
const BY_CODE = new Map(Object.values(DATATYPES).map((t) => [t.code, t]));
const RGB24 = 128;

/**
 * Quaternion (b, c, d) and qfac of a 3×3 rotation (row-major, columns = axes), following
 * nifti_mat44_to_quatern: an improper matrix (det < 0) gets qfac = −1 and its third column negated.
 */
export function quaternionOf(r: Mat3): { b: number; c: number; d: number; qfac: 1 | -1 } {
  const m = [...r];
  const det = m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
  const qfac: 1 | -1 = det < 0 ? -1 : 1;
  if (qfac < 0) {
    m[2] = -m[2]!;
    m[5] = -m[5]!;
    m[8] = -m[8]!;
  }
  const [r11, r12, r13, r21, r22, r23, r31, r32, r33] = m as Mat3;
  let a = r11 + r22 + r33 + 1;
  let b: number;
  let c: number;
  let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    // Near a 180° rotation: take the largest of b, c, d from the diagonal instead.
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac };
}

/**
 * The 352-byte NIfTI-1 single-file header (348 + empty extension flag) for `vol`.
 * Geometry: LPS → RAS (x and y negated), sform = direction × spacing | origin, qform from
 * the rotation part; both codes 1 (scanner), units mm. `file` is named in errors.
 */
export function encodeNiftiHeader(vol: Volume, file: string): Uint8Array {
  const [nx, ny, nz] = vol.dims;
  if (Math.max(nx, ny, nz) > 32767) {
    throw new CovsegError(`dims ${vol.dims.join('×')} exceed NIfTI-1's 32767 voxels per axis; write NRRD or MHA instead`, { file });
  }
  const buf = new ArrayBuffer(NIFTI1_VOX_OFFSET);
  const v = new DataView(buf);
  const le = true;
  const { code, bytes } = DATATYPES[voxelTypeOf(vol.data)];
  const d = vol.direction;
  const s = vol.spacingMm;
  // RAS = diag(−1, −1, 1) · LPS.
  const flip = [-1, -1, 1];
  const rasDir = d.map((x, i) => flip[Math.floor(i / 3)]! * x) as Mat3;
  const rasOrigin = vol.origin.map((x, i) => flip[i]! * x);
  const q = quaternionOf(rasDir);
  v.setInt32(0, NIFTI1_HEADER_BYTES, le);
  v.setUint8(38, 'r'.charCodeAt(0));
  const dim = [nz > 1 ? 3 : 2, nx, ny, nz, 1, 1, 1, 1];
  dim.forEach((x, i) => v.setInt16(40 + 2 * i, x, le));
  v.setInt16(70, code, le);
  v.setInt16(72, 8 * bytes, le);
  const pixdim = [q.qfac, s[0], s[1], s[2], 1, 1, 1, 1];
  pixdim.forEach((x, i) => v.setFloat32(76 + 4 * i, x, le));
  v.setFloat32(108, NIFTI1_VOX_OFFSET, le);
  v.setFloat32(112, 1, le); // scl_slope 1: values are stored as they are
  v.setFloat32(116, 0, le);
  v.setUint8(123, 2); // xyzt_units: NIFTI_UNITS_MM
  const descrip = 'covseg';
  for (let i = 0; i < descrip.length; i++) v.setUint8(148 + i, descrip.charCodeAt(i));
  v.setInt16(252, 1, le); // qform_code NIFTI_XFORM_SCANNER_ANAT
  v.setInt16(254, 1, le); // sform_code NIFTI_XFORM_SCANNER_ANAT
  [q.b, q.c, q.d, rasOrigin[0]!, rasOrigin[1]!, rasOrigin[2]!].forEach((x, i) => v.setFloat32(256 + 4 * i, x, le));
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) v.setFloat32(280 + 16 * row + 4 * col, rasDir[3 * row + col]! * s[col]!, le);
    v.setFloat32(280 + 16 * row + 12, rasOrigin[row]!, le);
  }
  v.setUint8(344, 'n'.charCodeAt(0));
  v.setUint8(345, '+'.charCodeAt(0));
  v.setUint8(346, '1'.charCodeAt(0));
  return new Uint8Array(buf);
}

/** The fields of a NIfTI-1 or NIfTI-2 header that covseg uses (same names as the standard). */
interface NiftiFields {
  littleEndian: boolean;
  dim: number[];
  datatype: number;
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  quatern: [number, number, number];
  qoffset: Vec3;
  srow: [number[], number[], number[]];
}

/** Byte offsets of the fields in the two header versions (NIfTI-2 widens ints and floats to 8 bytes). */
const LAYOUTS = {
  348: { intBytes: 2, floatBytes: 4, codeBytes: 2, dim: 40, datatype: 70, pixdim: 76, voxOffset: 108, sclSlope: 112, sclInter: 116, qformCode: 252, sformCode: 254, quatern: 256, srow: 280 },
  540: { intBytes: 8, floatBytes: 8, codeBytes: 4, dim: 16, datatype: 12, pixdim: 104, voxOffset: 168, sclSlope: 176, sclInter: 184, qformCode: 344, sformCode: 348, quatern: 352, srow: 400 },
} as const;

function parseFields(bytes: Uint8Array, file: string): NiftiFields {
  if (bytes.length < 348) throw new CovsegError(`NIfTI header is truncated (${bytes.length} bytes); re-download the file`, { file });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLe = v.getInt32(0, true);
  const le = sizeLe === 348 || sizeLe === 540;
  const size = le ? sizeLe : v.getInt32(0, false);
  if (size !== 348 && size !== 540) throw new CovsegError(`not a NIfTI file (sizeof_hdr ${sizeLe}, expected 348 or 540)`, { file });
  if (bytes.length < size) throw new CovsegError(`NIfTI header is truncated (${bytes.length} bytes); re-download the file`, { file });
  const L = LAYOUTS[size];
  const int = (o: number) => (L.intBytes === 2 ? v.getInt16(o, le) : Number(v.getBigInt64(o, le)));
  const float = (o: number) => (L.floatBytes === 4 ? v.getFloat32(o, le) : v.getFloat64(o, le));
  const code = (o: number) => (L.codeBytes === 2 ? v.getInt16(o, le) : v.getInt32(o, le));
  const floats = (o: number, n: number) => Array.from({ length: n }, (_, i) => float(o + i * L.floatBytes));
  return {
    littleEndian: le,
    dim: Array.from({ length: 8 }, (_, i) => int(L.dim + i * L.intBytes)),
    datatype: v.getInt16(L.datatype, le),
    pixdim: floats(L.pixdim, 8),
    // NIfTI-1 keeps vox_offset as a float, NIfTI-2 as an int64.
    voxOffset: size === 348 ? float(L.voxOffset) : Number(v.getBigInt64(L.voxOffset, le)),
    sclSlope: float(L.sclSlope),
    sclInter: float(L.sclInter),
    qformCode: code(L.qformCode),
    sformCode: code(L.sformCode),
    quatern: floats(L.quatern, 3) as [number, number, number],
    qoffset: floats(L.quatern + 3 * L.floatBytes, 3) as Vec3,
    srow: [0, 1, 2].map((r) => floats(L.srow + 4 * r * L.floatBytes, 4)) as NiftiFields['srow'],
  };
}

/** Relative disagreement below which pixdim is taken as the spacing (it is what was written). */
const PIXDIM_AGREES = 1e-4;

interface RasGeometry {
  dir: number[];
  spacing: Vec3;
  origin: Vec3;
  /** False when a spacing came from a pixdim of 0 or NaN (then 1 mm stands in for it). */
  spacingKnown: boolean;
}

/**
 * RAS geometry (columns = axes) from the sform, else the qform, else pixdim alone, for an
 * image of `nd` dimensions. Each problem gets one warning that says what was used
 * instead, so a degenerate sform without a qform reads as that, not as two
 * contradicting notes.
 */
function rasGeometry(f: NiftiFields, nd: number, warnings: string[]): RasGeometry {
  // A pixdim of 0 or NaN states no size: 1 mm keeps the grid usable, spacingKnown says not
  // to measure with it (taken as a known 1 mm, it once turned 1,680 mL of lung into 1,128).
  const stated = [1, 2, 3].map((i) => Math.abs(f.pixdim[i]!));
  const isSize = (x: number) => Number.isFinite(x) && x > 0;
  const pix = stated.map((x) => (isSize(x) ? x : 1)) as Vec3;
  /** Axes (< nd) whose spacing is taken from pixdim. */
  let fromPixdim = [0, 1, 2];
  const result = (g: Omit<RasGeometry, 'spacingKnown'>): RasGeometry => {
    const unknown = fromPixdim.filter((j) => j < nd && !isSize(stated[j]!));
    if (unknown.length > 0) {
      const fields = unknown.map((j) => `pixdim[${j + 1}] = ${f.pixdim[j + 1]}`).join(', ');
      warnings.push(`${fields}: the voxel size is unknown, so 1 mm is assumed for the grid and volumes (mL) are not available`);
    }
    return { ...g, spacingKnown: unknown.length === 0 };
  };
  const sformOk = f.sformCode > 0 && f.srow.every((row) => row.every(Number.isFinite));
  if (sformOk) {
    const m = f.srow;
    const cols = [0, 1, 2].map((j) => [m[0][j]!, m[1][j]!, m[2][j]!]);
    const norms = cols.map((c) => Math.hypot(c[0]!, c[1]!, c[2]!));
    if (norms[0]! > 0 && norms[1]! > 0) {
      fromPixdim = [];
      if (!(norms[2]! > 0)) {
        // A 2D image may leave the third column empty: point it along the normal of the first two.
        const [a, b] = [cols[0]!.map((x) => x / norms[0]!), cols[1]!.map((x) => x / norms[1]!)];
        cols[2] = [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!].map((x) => x * pix[2]);
        norms[2] = pix[2];
        fromPixdim = [2];
      }
      const spacing = norms.map((n, j) => (Math.abs(n - pix[j]!) <= PIXDIM_AGREES * pix[j]! ? pix[j]! : n)) as Vec3;
      const dir = [0, 1, 2].flatMap((r) => [0, 1, 2].map((j) => cols[j]![r]! / norms[j]!));
      return result({ dir, spacing, origin: [m[0][3]!, m[1][3]!, m[2][3]!] });
    }
  }
  const sformProblem = f.sformCode > 0 ? 'the sform is degenerate (a zero column or a value that is not a number)' : undefined;
  const qformOk = f.qformCode > 0 && [...f.quatern, ...f.qoffset].every(Number.isFinite);
  if (qformOk) {
    if (sformProblem) warnings.push(`${sformProblem}; the qform was used`);
    const [b, c, d] = f.quatern;
    const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
    const qfac = f.pixdim[0]! < 0 ? -1 : 1;
    const dir = [
      a * a + b * b - c * c - d * d, 2 * (b * c - a * d), qfac * 2 * (b * d + a * c),
      2 * (b * c + a * d), a * a + c * c - b * b - d * d, qfac * 2 * (c * d - a * b),
      2 * (b * d - a * c), 2 * (c * d + a * b), qfac * (a * a + d * d - b * b - c * c),
    ];
    return result({ dir, spacing: pix, origin: [...f.qoffset] });
  }
  const qformProblem = f.qformCode > 0 ? 'the qform holds a value that is not a number' : 'there is no qform (qform_code = 0)';
  const why = sformProblem ? `${sformProblem} and ${qformProblem}` : f.qformCode > 0 ? `there is no sform (sform_code = 0) and ${qformProblem}` : 'no sform or qform (qform_code = sform_code = 0)';
  warnings.push(`${why}: orientation unknown, RAS axes and origin 0 assumed`);
  return result({ dir: [1, 0, 0, 0, 1, 0, 0, 0, 1], spacing: pix, origin: [0, 0, 0] });
}

/**
 * The seven image sizes of the header (1 beyond dim[0]). A corrupt dim (dim[0] outside
 * 1–7, or a size below 1) is refused with the field named, never clamped: clamping
 * dim[1] = −5 to 1 read a 1×2×2 image without a word.
 */
function imageSize(f: NiftiFields, file: string): number[] {
  const nd = f.dim[0]!;
  if (!(nd >= 1 && nd <= 7)) throw new CovsegError(`NIfTI header dim[0] = ${nd}; the number of dimensions must be 1–7 (the header is corrupt)`, { file });
  for (let i = 1; i <= nd; i++) {
    if (!(f.dim[i]! >= 1)) throw new CovsegError(`NIfTI header dim[${i}] = ${f.dim[i]}; each image dimension must be ≥ 1 (the header is corrupt)`, { file });
  }
  return Array.from({ length: 7 }, (_, i) => (i < nd ? f.dim[i + 1]! : 1));
}

/** What a NIfTI header (the first 348 or 540 bytes) says of the image's size, before any voxel is read. */
export interface NiftiExtent {
  /** dim[1..dim[0]]. */
  dims: number[];
  /** Bytes the header places before the voxels and the voxels take: what the file must hold. */
  bytes: number;
}

/** The image size a NIfTI-1 or NIfTI-2 header announces (also for a .hdr of a header/image pair); corrupt dims throw. */
export function niftiExtent(header: Uint8Array, file: string): NiftiExtent {
  const f = parseFields(header, file);
  const dims = imageSize(f, file).slice(0, f.dim[0]!);
  const bytesPerVoxel = f.datatype === RGB24 ? 3 : (BY_CODE.get(f.datatype)?.bytes ?? 8);
  return { dims, bytes: Math.max(f.voxOffset, 0) + dims.reduce((p, d) => p * d, 1) * bytesPerVoxel };
}

export interface DecodedNifti {
  volume: Volume;
  /** scl_slope/scl_inter changed the stored values. */
  rescaled: boolean;
  /** The header states every voxel size (pixdim or sform); false: 1 mm was assumed, measure nothing in mm or mL. */
  spacingKnown: boolean;
  warnings: string[];
}

/**
 * Decodes a whole (already gunzipped) single-file NIfTI-1 or NIfTI-2 image.
 * Throws CovsegError naming `file` when the data is shorter than the header promises.
 */
export function decodeNifti(bytes: Uint8Array, file: string): DecodedNifti {
  const f = parseFields(bytes, file);
  const warnings: string[] = [];
  const size = imageSize(f, file);
  const nd = f.dim[0]!;
  const extra = size.slice(3).reduce((p, x) => p * x, 1);
  if (extra > 1) {
    throw new CovsegError(`a ${nd}D image (${size.slice(0, nd).join('×')}); covseg reads 2D and 3D images only (split the time series first)`, { file });
  }
  const dims: Vec3 = [size[0]!, size[1]!, size[2]!];
  const n = dims[0] * dims[1] * dims[2];
  const type = f.datatype === RGB24 ? { bytes: 3 } : BY_CODE.get(f.datatype);
  if (!type) {
    throw new CovsegError(`NIfTI datatype ${f.datatype} is not supported (covseg reads uint8, int8, int16, uint16, int32, uint32, float32, float64, RGB24)`, { file });
  }
  const offset = Math.max(f.voxOffset, 0);
  const need = offset + n * type.bytes;
  if (bytes.length < need) {
    throw new CovsegError(
      `the file is truncated: ${dims.join('×')} voxels need ${need} bytes, the file holds ${bytes.length}; re-download or re-export it`,
      { file },
    );
  }
  let data: VoxelArray;
  if (f.datatype === RGB24) {
    const rgb = bytes.subarray(offset, offset + 3 * n);
    data = rasterToGrey({ width: n, height: 1, channels: 3, data: rgb });
    warnings.push('RGB voxels converted to grey (Rec. 601 luma)');
  } else {
    const t = BY_CODE.get(f.datatype)!;
    // Copy into a fresh buffer (aligned, byteOffset 0): callers may hand `data.buffer` on
    // (ONNX tensors, workers) and must not find the header or the rest of the file in it.
    // (`new Uint8Array(view)` copies; Buffer#slice would not.)
    const copy = new Uint8Array(bytes.subarray(offset, offset + n * t.bytes));
    if (!f.littleEndian && t.bytes > 1) swapBytes(copy, t.bytes);
    data = t.view(copy.buffer, copy.byteOffset, n);
  }
  const slope = f.sclSlope;
  // A NaN scl_inter beside a valid slope would turn every voxel into NaN: it means no offset.
  const inter = Number.isFinite(f.sclInter) ? f.sclInter : 0;
  const rescaled = Number.isFinite(slope) && slope !== 0 && (slope !== 1 || inter !== 0);
  if (rescaled) data = rescale(data, slope, inter);
  const g = rasGeometry(f, nd, warnings);
  // RAS → LPS: negate the x and y rows of the direction and the x and y of the origin.
  const direction = g.dir.map((x, i) => (i < 6 ? -x : x) + 0) as Mat3;
  const origin: Vec3 = [-g.origin[0] + 0, -g.origin[1] + 0, g.origin[2]];
  return { volume: createVolume(data, dims, { spacingMm: g.spacing, origin, direction }), rescaled, spacingKnown: g.spacingKnown, warnings };
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i < bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** value × slope + inter: int16 when every result is an int16 integer (CT), else float32. */
function rescale(data: VoxelArray, slope: number, inter: number): VoxelArray {
  const n = data.length;
  let integral = true;
  for (let i = 0; i < n; i++) {
    const v = data[i]! * slope + inter;
    if (v !== Math.round(v) || v < -32768 || v > 32767) {
      integral = false;
      break;
    }
  }
  const out = integral ? new Int16Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i]! * slope + inter;
  return out;
}
